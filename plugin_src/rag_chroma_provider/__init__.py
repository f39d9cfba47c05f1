"""PepperPy RAG plugin: a chroma vector store (entry point ``provider:ChromaProvider``)."""

from .provider import ChromaProvider

__all__ = ["ChromaProvider"]
