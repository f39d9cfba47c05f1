"""Embedding interface: texts in, fixed-size float vectors out."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

from pepperpy.core import BaseProvider

__all__ = ["EmbeddingProvider"]


class EmbeddingProvider(BaseProvider, abc.ABC):
    """Interface every embeddings provider implements.

    ``embed`` takes a batch and returns one vector per text, in order; providers batch
    internally as their backend prefers.
    """

    category: ClassVar[str] = "embeddings"

    @property
    @abc.abstractmethod
    def dimension(self) -> int:
        """Length of every vector this provider returns."""

    @abc.abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed a batch of texts."""

    async def embed_query(self, text: str) -> list[float]:
        """Embed one search query (providers with query prefixes override this)."""
        return (await self.embed([text]))[0]
