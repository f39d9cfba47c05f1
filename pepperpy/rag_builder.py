"""The ``pepper.rag`` builder: add texts and files, search, and answer with sources.

Embedding happens here, with the configured embeddings provider, so every vector
store gets the same vectors. Adding is idempotent: chunk ids derive from the source
and text, and chunks the store already holds are not embedded again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pepperpy.core import ConfigurationError, ValidationError
from pepperpy.rag import Document, MetadataValue, SearchResult, chunk_text, stable_id
from pepperpy.textcheck import check_text

if TYPE_CHECKING:
    from pepperpy.chat import ChatBuilder
    from pepperpy.documents import DocumentLoader
    from pepperpy.embeddings import EmbeddingProvider
    from pepperpy.ingest import IngestProgress
    from pepperpy.llm import GenerationResult, Message
    from pepperpy.rag import RAGProvider

__all__ = ["Answer", "RAGBuilder"]

DEFAULT_PROMPT = (
    "Answer the question using only the numbered sources below. Cite the sources you "
    "used as [1], [2]. If the sources do not contain the answer, say you don't know."
)

#: What ``ask`` answers, without calling the LLM, when retrieval finds nothing.
NO_SOURCES_ANSWER = (
    "I found no sources for this question in the knowledge base, so I cannot answer it "
    "from sources. Add documents with pepper.learn(...) or pepper.rag.add_texts(...)."
)


@dataclass
class Answer:
    """An answer and the sources it was given."""

    content: str
    sources: list[SearchResult] = field(default_factory=list)
    result: GenerationResult | None = None

    def __str__(self) -> str:
        return self.content


class RAGBuilder:
    """Retrieval over the configured vector store and embeddings provider."""

    def __init__(
        self,
        *,
        store: Callable[[], Awaitable[RAGProvider]],
        embedder: Callable[[], Awaitable[EmbeddingProvider]],
        chat: Callable[[], ChatBuilder] | None,
        run: Callable[[Any], Any],
        loaders: Callable[[], Awaitable[Mapping[str, DocumentLoader]]] | None = None,
        raw_embedder: Callable[[], Awaitable[EmbeddingProvider]] | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._loaders = loaders
        self._raw_embedder = raw_embedder or embedder
        self._chat = chat
        self._run = run

    async def add_documents(self, documents: Sequence[Document]) -> list[str]:
        """Store documents, embedding only those the store does not hold yet."""
        if not documents:
            return []
        unique = list({d.id: d for d in documents}.values())
        store = await self._store()
        known = {d.id for d in await store.get([d.id for d in unique])}
        todo = [d for d in unique if d.id not in known]
        if todo:
            vectors = await (await self._embedder()).embed([d.text for d in todo])
            await store.add(todo, vectors)
        return [d.id for d in unique]

    async def add_texts(
        self,
        texts: Sequence[str] | str,
        *,
        metadata: Mapping[str, MetadataValue] | None = None,
        source: str | None = None,
        chunk_size: int = 800,
        overlap: int = 100,
    ) -> list[str]:
        """Chunk texts with overlap and store them with stable ids.

        Every chunk's ``source`` metadata is ``source`` (or ``metadata["source"]``)
        exactly as given, so ``where={"source": ...}`` finds it, even when several
        texts share it; a text without one gets ``text-<hash>``. Ids derive from the
        source, the chunk's position and its text, so adding again changes nothing.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, Sequence):
            raise ValidationError(
                f"add_texts() takes a string or a list of strings, got {type(texts).__name__}"
            )
        given = source if source is not None else (metadata or {}).get("source")
        documents = []
        for number, text in enumerate(texts, 1):
            if not isinstance(text, str):
                raise ValidationError(f"add_texts() takes strings, got {type(text).__name__}")
            check_text(text, f"text {number}" + (f" (source {given!r})" if given else ""))
            origin = given if given is not None else f"text-{stable_id(text)[:12]}"
            for index, piece in enumerate(chunk_text(text, size=chunk_size, overlap=overlap)):
                meta: dict[str, MetadataValue] = {**(metadata or {}), "source": origin}
                meta["chunk"] = index
                documents.append(Document(piece, stable_id(piece, origin, index), meta))
        return await self.add_documents(documents)

    async def add_files(
        self,
        paths: Sequence[str | Path],
        *,
        chunk_size: int | None = None,
        overlap: int | None = None,
        strict: bool = False,
        progress: Callable[[IngestProgress], None] | None = None,
        prune: bool = False,
    ) -> list[str]:
        """Add files and folders (recursive, hidden names skipped) with the installed
        documents loaders; return the chunk ids of the files read. With ``prune=True``,
        the chunks of files under the given folders that no longer exist are deleted.

        Each chunk's metadata has ``source`` (the file name), ``path``, ``page`` (PDF,
        1-based) and ``headings`` where the format has them. A file no loader reads, or
        one its loader refuses, is named in one warning line (logger ``pepperpy.rag``)
        and skipped; the call fails only if nothing could be read, or with
        ``strict=True`` before storing anything if any file could not be. Sizes are
        the embeddings model's tokens when it can count them (default 200, overlap
        25), else characters (800, overlap 100). ``progress`` is called after each file
        with an ``IngestProgress``.
        """
        from pepperpy.ingest import ingest
        from pepperpy.ingest_walk import one_is_there, path_list

        paths = path_list(paths, "add_files")  # before any model or store starts
        one_is_there(paths)
        if self._loaders is None:
            raise ConfigurationError("add_files() needs documents loaders; use PepperPy.rag")
        loaders = await self._loaders()
        embedder = await self._embedder()
        counter = getattr(await self._raw_embedder(), "count_tokens", None)
        measure = counter if callable(counter) else len
        default_size, default_overlap = (200, 25) if callable(counter) else (800, 100)
        return await ingest(
            paths,
            loaders=loaders,
            store=await self._store(),
            embedder=embedder,
            size=default_size if chunk_size is None else chunk_size,
            overlap=default_overlap if overlap is None else overlap,
            measure=measure,
            strict=strict,
            progress=progress,
            prune=prune,
        )

    async def remove(
        self,
        paths: Sequence[str | Path],
        *,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> list[str]:
        """Delete the chunks ``add_files`` stored for these files, or for every file
        under these folders (whether or not they still exist; a folder that exists also
        takes the files reached through links inside it); return the ids deleted.

        A path with no chunks in the collection raises ``ValidationError`` before
        anything is deleted; a store that cannot list by metadata raises
        ``ConfigurationError``. ``progress`` gets an ``IngestProgress`` per file.
        """
        from pepperpy.ingest_walk import path_list
        from pepperpy.rag_remove import remove

        path_list(paths, "remove")  # before the store starts
        return await remove(await self._store(), paths, progress=progress)

    async def search(
        self, query: str, *, k: int = 4, where: Mapping[str, MetadataValue] | None = None
    ) -> list[SearchResult]:
        """The ``k`` chunks closest to ``query``."""
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("search() needs a non-empty query string")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValidationError(f"k must be a positive integer, got {k!r}")
        vector = await (await self._embedder()).embed_query(query)
        return await (await self._store()).search(vector, k=k, where=dict(where or {}) or None)

    async def ask(
        self,
        question: str,
        *,
        k: int = 4,
        where: Mapping[str, MetadataValue] | None = None,
        instructions: str = DEFAULT_PROMPT,
        history: Sequence[Message] = (),
    ) -> Answer:
        """Retrieve, then answer with the LLM, citing numbered sources.

        ``history`` (earlier turns) goes between the instructions and the question.
        When nothing is retrieved the LLM is not asked: the answer says so and
        ``sources`` is empty.
        """
        if self._chat is None:
            raise ConfigurationError(
                "rag.ask() needs an LLM to write the answer: call with_llm(...) first, "
                "or use rag.search() for the sources alone"
            )
        sources = await self.search(question, k=k, where=where)
        if not sources:
            return Answer(NO_SOURCES_ANSWER, [], None)
        context = "\n\n".join(
            f"[{n}] ({r.document.metadata.get('source', r.document.id)}) {r.document.text}"
            for n, r in enumerate(sources, 1)
        )
        result = await (
            self._chat()
            .with_system(instructions)
            .with_messages(history)
            .with_user(f"Sources:\n{context}\n\nQuestion: {question}")
            .generate()
        )
        return Answer(result.content, sources, result)

    async def count(self) -> int:
        return await (await self._store()).count()

    async def delete(self, ids: Sequence[str]) -> None:
        await (await self._store()).delete(ids)

    def add_texts_sync(self, texts: Sequence[str] | str, **kwargs: Any) -> list[str]:
        return self._run(self.add_texts(texts, **kwargs))

    def search_sync(self, query: str, **kwargs: Any) -> list[SearchResult]:
        return self._run(self.search(query, **kwargs))

    def add_files_sync(self, paths: Sequence[str | Path], **kwargs: Any) -> list[str]:
        return self._run(self.add_files(paths, **kwargs))

    def remove_sync(self, paths: Sequence[str | Path], **kwargs: Any) -> list[str]:
        return self._run(self.remove(paths, **kwargs))

    def ask_sync(self, question: str, **kwargs: Any) -> Answer:
        return self._run(self.ask(question, **kwargs))

