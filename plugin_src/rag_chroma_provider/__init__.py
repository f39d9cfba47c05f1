"""PepperPy RAG plugin: a chroma vector store (embedded or client/server)."""

from .provider import ChromaProvider

__all__ = ["ChromaProvider"]
