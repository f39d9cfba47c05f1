"""PepperPy documents plugin: Word .docx (entry point ``provider:DocxLoader``)."""

from .provider import DocxLoader

__all__ = ["DocxLoader"]
