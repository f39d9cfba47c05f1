"""File ingestion for ``pepper.rag.add_files``: walk, read, parse, chunk, embed, store.

Invariants:
- folders are walked recursively in sorted order; names starting with "." are
  skipped; a symlink to a folder is followed once, and one that leads back into a
  folder already walked (a loop), or nowhere, is reported and not followed;
- every file that cannot be used (no loader for its type, empty, too big, unreadable,
  refused by its loader) is reported in one warning line on the ``pepperpy.rag``
  logger (non-printable characters of names and messages escaped) and skipped: the
  others are still ingested. The call fails only if no file could be read, or, with
  ``strict=True``, before anything is stored if any could not;
- a file's identity is its resolved path; chunk ids derive from it and the content
  (pepperpy/chunking.py), so adding the same files again embeds nothing, and a changed
  file has its old chunks that are gone deleted (stores that can list ids by metadata);
- reading and parsing run on worker threads ahead of embedding; embedding runs in
  batches; each batch is written while the next one is embedded.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy.chunking import Measure, chunk_sections
from pepperpy.core import ConfigurationError, ValidationError
from pepperpy.ingest_progress import IngestProgress
from pepperpy.ingest_walk import Skipped, broken_links, collect, os_reason, path_list
from pepperpy.printable import printable
from pepperpy.rag import Document, MetadataValue
from pepperpy.textcheck import check_text

if TYPE_CHECKING:
    from pepperpy.documents import DocumentLoader
    from pepperpy.embeddings import EmbeddingProvider
    from pepperpy.rag import RAGProvider

__all__ = ["IngestProgress", "Skipped", "collect", "ingest", "read_limited"]

log = logging.getLogger("pepperpy.rag")

MAX_FILE_BYTES = 256 << 20
_READERS = 2  # files parsed at once (two cores is the common small machine)


def read_limited(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, refusing an empty file or one larger than ``max_bytes``."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ValidationError(f"{size} bytes is above the {max_bytes}-byte limit")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ValidationError(os_reason(exc, "cannot be read")) from exc
    if not data:
        raise ValidationError("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ValidationError(f"grew above the {max_bytes}-byte limit while being read")
    return data


@dataclass
class _Parsed:
    path: Path
    documents: list[Document]
    order: int = 0  # the file's place in the walk: ids are returned in that order


def _parse(
    path: Path, loader: DocumentLoader, *, size: int, overlap: int, measure: Measure
) -> _Parsed:
    """Read, parse and chunk one file (on a worker thread)."""
    identity = os.path.realpath(path)
    check_text(identity, "its path")  # a non-UTF-8 name cannot be stored as metadata
    data = read_limited(path)
    sections = loader.read(data, name=path.name)
    chunks = chunk_sections(sections, identity=identity, size=size, overlap=overlap,
                            measure=measure)
    for chunk in chunks:
        check_text(chunk.text, "its text")
    documents = []
    for index, chunk in enumerate(chunks):
        meta: dict[str, MetadataValue] = {"source": path.name, "path": identity,
                                          "chunk": index}
        text = chunk.text
        if chunk.page is not None:
            meta["page"] = chunk.page
        if chunk.headings:
            meta["headings"] = " > ".join(chunk.headings)
            text = f"{meta['headings']}\n{text}"
        documents.append(Document(text, chunk.id, meta))
    return _Parsed(path, documents)


class _Run:
    """One ``add_files`` call: a reader stage feeding an embed-and-write stage."""

    def __init__(
        self,
        *,
        loaders: Mapping[str, DocumentLoader],
        store: RAGProvider,
        embedder: EmbeddingProvider,
        measure: Measure,
        size: int,
        overlap: int,
        batch_size: int,
        progress: Callable[[IngestProgress], None] | None,
    ) -> None:
        self.loaders, self.store, self.embedder = loaders, store, embedder
        self.measure, self.size, self.overlap = measure, size, overlap
        self.batch_size, self.callback = batch_size, progress
        self.skipped: list[Skipped] = []
        self.ids: dict[int, list[str]] = {}
        self.present: set[str] = set()  # ids stored for files read now: none is pruned
        self.state = IngestProgress(0)
        self._pending: list[Document] = []
        self._writing: asyncio.Task[list[str]] | None = None

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))
        self.state.files_skipped += 1
        log.warning("skipped %s: %s", printable(str(path)), printable(reason))

    def report(self) -> None:
        if self.callback is not None:
            self.callback(self.state)

    async def read_all(self, files: list[Path], out: asyncio.Queue[_Parsed | None]) -> None:
        gate = asyncio.Semaphore(_READERS)

        async def one(order: int, path: Path) -> None:
            loader = self.loaders.get(path.suffix.lower())
            if loader is None:
                self.skip(str(path), _no_loader(path, self.loaders))
                return
            async with gate:
                try:
                    parsed = await asyncio.to_thread(
                        _parse, path, loader, size=self.size, overlap=self.overlap,
                        measure=self.measure)
                except ValidationError as exc:
                    self.skip(str(path), str(exc))
                    return
            if not parsed.documents:
                self.skip(str(path), "no text found in it (a scan without a text layer?)")
                return
            parsed.order = order
            await out.put(parsed)

        try:
            await asyncio.gather(*(one(n, p) for n, p in enumerate(files)))
        finally:
            await out.put(None)

    async def store_file(self, parsed: _Parsed) -> None:
        """Queue a file's new chunks for embedding and drop its chunks that are gone."""
        docs = list({d.id: d for d in parsed.documents}.values())
        new_ids = [d.id for d in docs]
        await self._drop_stale(parsed, set(new_ids))
        known = {d.id for d in await self.store.get(new_ids)} if new_ids else set()
        self._pending += [d for d in docs if d.id not in known]
        self.ids[parsed.order] = new_ids
        self.state.files_done += 1
        self.state.chunks += len(docs)
        while len(self._pending) >= self.batch_size:
            await self._flush(self.batch_size)
        self.report()

    async def _drop_stale(self, parsed: _Parsed, keep: set[str]) -> None:
        old = await self.store.ids({"path": parsed.documents[0].metadata["path"]})
        if old is None:
            return  # the store cannot list by metadata: changed files keep old chunks
        self.present.update(keep)
        self.present.update(old)
        stale = [i for i in old if i not in keep]
        if stale:
            await self.store.delete(stale)

    async def _flush(self, limit: int | None = None) -> None:
        batch = self._pending[:limit] if limit else self._pending
        self._pending = self._pending[len(batch):]
        if not batch:
            return
        vectors = await self.embedder.embed([d.text for d in batch])
        if self._writing is not None:
            await self._writing  # one write in flight while the next batch embeds
        self._writing = asyncio.create_task(self.store.add(batch, vectors))
        self.state.chunks_embedded += len(batch)

    async def finish(self) -> None:
        await self._flush()
        if self._writing is not None:
            await self._writing
            self._writing = None
        self.report()


def _no_loader(path: Path, loaders: Mapping[str, DocumentLoader]) -> str:
    known = ", ".join(sorted(loaders)) or "none"
    kind = f"'{path.suffix.lower()}'" if path.suffix else "extension-less"
    return (f"no installed documents loader reads {kind} files (read here: {known}); "
            f"`pepperpy plugin search documents` lists the loaders your indexes offer, "
            f"`pepperpy plugin install NAME --category documents` installs one")


async def ingest(
    paths: Sequence[str | os.PathLike[str]],
    *,
    loaders: Mapping[str, DocumentLoader],
    store: RAGProvider,
    embedder: EmbeddingProvider,
    size: int,
    overlap: int,
    measure: Measure = len,
    strict: bool = False,
    batch_size: int = 64,
    progress: Callable[[IngestProgress], None] | None = None,
    prune: bool = False,
) -> list[str]:
    """Add every file under ``paths``; return the ids of the chunks of the files read.
    With ``prune``, then delete the chunks of files under the folders in ``paths`` that
    no longer exist, or that broken links in them led to (``pepperpy.rag_remove.prune``)."""
    paths = path_list(paths, "add_files")
    files, unreadable = collect(paths)
    led = broken_links(unreadable) if prune else []  # pruned, so not a file it failed to read
    run = _Run(loaders=loaders, store=store, embedder=embedder, measure=measure, size=size,
               overlap=overlap, batch_size=batch_size, progress=progress)
    run.state.files_total = len(files)
    for item in unreadable:
        run.skip(item.path, item.reason)
    queue: asyncio.Queue[_Parsed | None] = asyncio.Queue(0 if strict else 4)
    reader = asyncio.create_task(run.read_all(files, queue))
    try:
        if strict:
            await reader
            _refuse_strict(run.skipped)
        while (parsed := await queue.get()) is not None:
            await run.store_file(parsed)
        await run.finish()
    finally:
        if not reader.done():
            reader.cancel()
        if run._writing is not None and not run._writing.done():
            run._writing.cancel()
    if run.state.files_done == 0 and (files or len(unreadable) > len(led)):
        raise ValidationError(
            f"add_files() could not read any of the {len(files) + len(unreadable)} files "
            f"given ({run.skipped[0].path}: {run.skipped[0].reason}"
            + (f"; and {len(run.skipped) - 1} more" if len(run.skipped) > 1 else "") + ")"
        )
    if not files and not unreadable and not prune:  # pruning an emptied folder is not
        raise ConfigurationError("add_files(): the paths given hold no files")  # an error
    if prune:
        from pepperpy.rag_remove import prune as prune_gone

        await prune_gone(store, paths, links=led, progress=run.state, report=run.report,
                         present=run.present)
    return [i for order in sorted(run.ids) for i in run.ids[order]]


def _refuse_strict(skipped: list[Skipped]) -> None:
    if skipped:
        listed = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise ValidationError(
            f"add_files(strict=True): {len(skipped)} file(s) could not be read, nothing "
            f"was added ({listed}); fix or remove them, or drop strict=True to skip them"
        )
