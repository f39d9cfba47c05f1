"""PepperPy documents plugin: Markdown and plain text (entry point ``provider:MarkdownLoader``)."""

from .provider import MarkdownLoader

__all__ = ["MarkdownLoader"]
