"""RAG interfaces: documents, scored search results, vector stores, chunking.

A ``RAGProvider`` is a vector store: it stores documents with the vectors PepperPy
gives it and searches by vector. Embedding is PepperPy's job (through the configured
embeddings provider), so a store never downloads or runs a model of its own.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pepperpy.core import BaseProvider, ValidationError

__all__ = [
    "Document", "RAGProvider", "SearchResult", "chunk_text", "dimension_message", "stable_id",
]

MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class Document:
    """A piece of text with an id and flat metadata (str, int, float, bool values)."""

    text: str
    id: str = ""
    metadata: dict[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValidationError("a document needs non-empty text")
        if not self.id:
            object.__setattr__(self, "id", stable_id(self.text, self.metadata.get("source")))
        for key, value in self.metadata.items():
            if not isinstance(value, str | int | float | bool):
                raise ValidationError(
                    f"metadata value for {key!r} must be str, int, float or bool, "
                    f"got {type(value).__name__}"
                )


@dataclass(frozen=True)
class SearchResult:
    """A document and its similarity to the query (higher is closer, at most 1)."""

    document: Document
    score: float


def stable_id(text: str, source: Any = None, index: int | None = None) -> str:
    """The same text from the same source always gets the same id (idempotent adds)."""
    digest = hashlib.sha256()
    digest.update(str(source or "").encode())
    digest.update(b"\0" + str(index if index is not None else "").encode() + b"\0")
    digest.update(text.encode())
    return digest.hexdigest()[:32]


def dimension_message(store: str, collection: str, where: str, stored: int, given: int) -> str:
    """What every store says when vectors of another length meet an existing collection."""
    return (
        f"{store}: collection {collection!r} in {where} holds {stored}-dimension vectors, "
        f"and the embeddings provider gives {given}; the embeddings model changed. Use "
        f"another collection (with_rag(..., collection='...')), or re-index: delete the "
        f"collection and add the documents again with the new model"
    )


def chunk_text(text: str, *, size: int = 800, overlap: int = 100) -> list[str]:
    """Split text into chunks of at most ``size`` characters sharing ``overlap``.

    Cuts prefer paragraph, then sentence, then word boundaries, so chunks stay readable.
    """
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValidationError(
            f"chunk size must be > 0 and 0 <= overlap < size (got size={size}, overlap={overlap})"
        )
    text = text.strip()
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text[start:end]
            for sep in ("\n\n", "\n", ". ", " "):
                cut = window.rfind(sep)
                if cut > overlap:
                    end = start + cut + len(sep)
                    break
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return chunks


class RAGProvider(BaseProvider, abc.ABC):
    """Interface every vector store implements."""

    category: ClassVar[str] = "rag"

    @abc.abstractmethod
    async def add(
        self, documents: Sequence[Document], embeddings: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store (or replace, by id) documents with their vectors; return the ids."""

    @abc.abstractmethod
    async def search(
        self,
        embedding: Sequence[float],
        *,
        k: int = 4,
        where: dict[str, MetadataValue] | None = None,
    ) -> list[SearchResult]:
        """The ``k`` closest documents whose metadata equals every pair in ``where``."""

    @abc.abstractmethod
    async def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    @abc.abstractmethod
    async def count(self) -> int:
        """Number of stored documents."""

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Documents by id (those that exist). Stores override when they can."""
        return []

    async def ids(self, where: dict[str, MetadataValue]) -> list[str] | None:
        """Ids of every document whose metadata equals every pair in ``where``.

        ``rag.add_files`` uses it to drop the chunks a changed file no longer has;
        ``None`` (the default) says the store cannot list by metadata.
        """
        return None
