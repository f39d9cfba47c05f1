"""PepperPy's offline embeddings plugin (all-MiniLM-L6-v2, int8 ONNX)."""

from .provider import LocalEmbeddingProvider

__all__ = ["LocalEmbeddingProvider"]
