"""PepperPy RAG plugin: a Milvus vector store (entry point ``provider:MilvusProvider``)."""

from .provider import MilvusProvider

__all__ = ["MilvusProvider"]
