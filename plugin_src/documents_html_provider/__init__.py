"""PepperPy documents plugin: HTML (entry point ``provider:HtmlLoader``)."""

from .provider import HtmlLoader

__all__ = ["HtmlLoader"]
