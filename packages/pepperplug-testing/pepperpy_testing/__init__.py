"""Test helpers for applications built on PepperPy, and for plugin authors.

- ``FakeLLM``: an LLM provider that answers from a script and records every request.
- ``HashEmbeddings``: deterministic bag-of-words vectors (similar texts score higher).
- ``MemoryStore`` / ``MemoryStorage``: in-memory vector store and JSON storage.
- ``fake_registry()``: a registry offering all of them, for ``PepperPy(registry=...)``.
- ``BundleFactory`` (from ``pepperpy_testing.bundles``): real signed bundles with
  throwaway keys, and helpers that tamper with them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from pepperpy.core import ValidationError
from pepperpy.embeddings import EmbeddingProvider
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    ToolCall,
    Usage,
)
from pepperpy.rag import Document, RAGProvider, SearchResult
from pepperpy.registry import ProviderRegistry
from pepperpy.storage import StorageProvider

if TYPE_CHECKING:
    from pepperpy_testing.bundles import BundleFactory

__all__ = [
    "BundleFactory",
    "FakeLLM",
    "HashEmbeddings",
    "MemoryStorage",
    "MemoryStore",
    "fake_registry",
    "tool_call_result",
]

Reply = str | GenerationResult | Callable[[Sequence[Message], GenerationOptions], Any]


class FakeLLM(LLMProvider):
    """Answers with scripted replies (cycling through them); records each request.

    A reply is a string, a ``GenerationResult`` (e.g. with ``tool_calls``), or a
    function ``(messages, options) -> str | GenerationResult``. Without a script it
    echoes the last user message.
    """

    instances: list[FakeLLM] = []

    def __init__(self, *, replies: Sequence[Reply] = (), **config: Any) -> None:
        super().__init__(**config)
        self.replies = list(replies)
        self.requests: list[tuple[list[Message], GenerationOptions]] = []
        self.initialize_calls = 0
        self.cleanup_calls = 0
        FakeLLM.instances.append(self)

    async def initialize(self) -> None:
        self.initialize_calls += 1
        await super().initialize()

    async def cleanup(self) -> None:
        self.cleanup_calls += 1
        await super().cleanup()

    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        self.requests.append((list(messages), options))
        reply: Any = self._next_reply(messages, options)
        if callable(reply):
            reply = reply(messages, options)
        if isinstance(reply, GenerationResult):
            return reply
        return GenerationResult(
            content=str(reply),
            finish_reason="stop",
            model=options.model or "fake",
            usage=Usage(sum(len(m.content.split()) for m in messages), len(str(reply).split())),
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        result = await self.generate(messages, options)
        words = result.content.split(" ")
        for index, word in enumerate(words):
            last = index == len(words) - 1
            yield GenerationChunk(
                content=word if last else word + " ",
                finish_reason=(result.finish_reason or "stop") if last else None,
                tool_calls=result.tool_calls if last else (),  # streams carry tool calls too
            )

    def _next_reply(self, messages: Sequence[Message], options: GenerationOptions) -> Reply:
        if not self.replies:
            users = [m.content for m in messages if m.role.value == "user"]
            return users[-1] if users else ""
        index = (len(self.requests) - 1) % len(self.replies)
        return self.replies[index]


def tool_call_result(
    name: str, arguments: dict[str, Any], call_id: str = "call_1"
) -> GenerationResult:
    """A scripted reply in which the model calls a tool."""
    return GenerationResult(
        content="", tool_calls=(ToolCall(call_id, name, arguments),), finish_reason="tool_calls"
    )


class HashEmbeddings(EmbeddingProvider):
    """Hashed bag-of-words vectors: deterministic, offline, and similarity-preserving."""

    def __init__(self, *, dimension: int = 64, **config: Any) -> None:
        super().__init__(dimension=dimension, **config)
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            vector[slot % self._dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


class MemoryStore(RAGProvider):
    """A vector store in a dict, scored by cosine similarity."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._rows: dict[str, tuple[Document, list[float]]] = {}

    async def add(
        self, documents: Sequence[Document], embeddings: Sequence[Sequence[float]]
    ) -> list[str]:
        if len(documents) != len(embeddings):
            raise ValidationError(
                f"{len(documents)} documents but {len(embeddings)} embeddings; pass one each"
            )
        for document, vector in zip(documents, embeddings, strict=True):
            self._rows[document.id] = (document, list(vector))
        return [d.id for d in documents]

    async def search(
        self, embedding: Sequence[float], *, k: int = 4, where: dict[str, Any] | None = None
    ) -> list[SearchResult]:
        hits = [
            SearchResult(doc, _cosine(embedding, vector))
            for doc, vector in self._rows.values()
            if all(doc.metadata.get(key) == value for key, value in (where or {}).items())
        ]
        return sorted(hits, key=lambda hit: hit.score, reverse=True)[:k]

    async def delete(self, ids: Sequence[str]) -> None:
        for doc_id in ids:
            self._rows.pop(doc_id, None)

    async def count(self) -> int:
        return len(self._rows)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        return [self._rows[i][0] for i in ids if i in self._rows]

    async def ids(self, where: dict[str, Any]) -> list[str]:
        return [i for i, (doc, _) in self._rows.items()
                if all(doc.metadata.get(k) == v for k, v in where.items())]


class MemoryStorage(StorageProvider):
    """JSON storage in a dict (values are copied through JSON, like a real store)."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._data: dict[tuple[str, str], str] = {}

    async def put(self, namespace: str, key: str, value: Any) -> None:
        import json

        try:
            self._data[(namespace, key)] = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"the value for {key!r} is not JSON: {exc}") from exc

    async def get(self, namespace: str, key: str) -> Any:
        import json

        raw = self._data.get((namespace, key))
        return None if raw is None else json.loads(raw)

    async def delete(self, namespace: str, key: str) -> bool:
        return self._data.pop((namespace, key), None) is not None

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        return sorted(k for (ns, k) in self._data if ns == namespace and k.startswith(prefix))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def fake_registry() -> ProviderRegistry:
    """A registry offering the fakes as llm "fake", embeddings "hash", rag "memory",
    storage "memory": ``PepperPy(registry=fake_registry()).with_llm("fake")``."""
    registry = ProviderRegistry()
    registry.register("llm", "fake", FakeLLM)
    registry.register("embeddings", "hash", HashEmbeddings)
    registry.register("rag", "memory", MemoryStore)
    registry.register("storage", "memory", MemoryStorage)
    return registry


def __getattr__(name: str) -> Any:
    if name == "BundleFactory":
        from pepperpy_testing.bundles import BundleFactory

        return BundleFactory
    raise AttributeError(f"module 'pepperpy_testing' has no attribute {name!r}")
