"""Deterministic fake vectors, so RAG tests do not depend on an embeddings model."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from pepperpy.embeddings import EmbeddingProvider

__all__ = ["HashEmbeddings", "hash_vector", "unit"]


def unit(values: Sequence[float]) -> list[float]:
    """``values`` scaled to length 1."""
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def hash_vector(text: str, dimension: int = 16) -> list[float]:
    """A unit vector derived from the text's SHA-256: same text, same vector."""
    raw = b""
    counter = 0
    while len(raw) < dimension * 2:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [int.from_bytes(raw[i * 2 : i * 2 + 2], "big") / 65535 - 0.5 for i in range(dimension)]
    return unit(values)


class HashEmbeddings(EmbeddingProvider):
    """An embeddings provider returning ``hash_vector`` of each text (tests only)."""

    def __init__(self, *, dimension: int = 16) -> None:
        super().__init__(dimension=dimension)
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [hash_vector(t, self._dimension) for t in texts]
