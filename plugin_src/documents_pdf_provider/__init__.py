"""PepperPy documents plugin: PDF on pypdf (entry point ``provider:PdfLoader``)."""

from .provider import PdfLoader

__all__ = ["PdfLoader"]
