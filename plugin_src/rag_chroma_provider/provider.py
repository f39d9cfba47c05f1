"""Chroma vector store: embedded on disk by default, client/server with host and port.

Invariants:
- chroma never embeds: the collection is opened with ``embedding_function=None`` and
  every call passes vectors, so nothing downloads a model at run time;
- telemetry is off (``anonymized_telemetry=False``) in both modes;
- adds are upserts by document id, so adding the same documents again is a no-op;
- embedded chromadb is synchronous: its calls run on one dedicated worker thread
  (``_worker.py``, shared with milvus), and an add is one trip there (read the stored
  metadata, then upsert). The one exception is a search whose previous search took
  under ``inline_search_ms`` (default 5 ms): it runs on the event loop's thread, as a
  direct chromadb call would, when no other call is queued or running, saving the hop
  to the worker and back (60-100 µs, 5-10% of a 1-2 ms query). A write sends the next
  search to the worker again, where it is timed afresh. The HTTP mode uses chromadb's
  ``AsyncHttpClient``;
- scores are "higher is closer, at most 1": cosine ``1 - d``, inner product ``1 - d``
  (the dot product), l2 ``1 / (1 + d)``;
- a vector of another length than the collection's is refused with a message naming
  the collection, both dimensions and the fix (``dimension_message``);
- the collection is created by the first add, never by opening, searching, counting,
  listing or deleting: a mistyped collection name leaves nothing behind and reads as an
  empty collection. While it does not exist, every read looks it up again (another
  provider on the same store may have made it since);
- chromadb's exceptions are translated to PepperpyError subclasses at this boundary.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

from pepperpy.core import (
    BadRequestError,
    ConfigurationError,
    PepperpyError,
    ServerError,
    ValidationError,
    provider_imports,
)
from pepperpy.rag import Document, MetadataValue, RAGProvider, SearchResult, dimension_message

from ._worker import BUSY, Worker

__all__ = ["ChromaProvider", "where_clause"]

_PROVIDER = "chroma"
_DISTANCES = ("cosine", "l2", "ip")
_INCLUDE = ["documents", "metadatas"]
_QUERY_INCLUDE = [*_INCLUDE, "distances"]
_DIMENSION = re.compile(r"expecting embedding with dimension of (\d+), got (\d+)")


def where_clause(where: dict[str, MetadataValue] | None) -> dict[str, Any] | None:
    """Chroma's ``where`` for "metadata equals every pair" (``$and`` for several)."""
    if not where:
        return None
    terms = []
    for key, value in where.items():
        if not isinstance(key, str) or not key or key.startswith("$"):
            raise ValidationError(f"metadata filter key {key!r} must be a plain non-empty name")
        if not isinstance(value, str | int | float | bool):
            raise ValidationError(
                f"metadata filter value for {key!r} must be str, int, float or bool, "
                f"got {type(value).__name__}"
            )
        terms.append({key: {"$eq": value}})
    return terms[0] if len(terms) == 1 else {"$and": terms}


def score(distance: float, space: str) -> float:
    """Similarity from chroma's distance: higher is closer, at most 1."""
    if space == "l2":  # chroma's l2 is the squared euclidean distance
        return 1.0 / (1.0 + distance)
    return 1.0 - distance  # cosine: cosine similarity; ip: the dot product


def _floats(vector: Sequence[float]) -> list[float]:
    """A vector as the list chroma takes: a list as it is (chroma copies it into its own
    array and never changes it), any other sequence copied into one."""
    return vector if type(vector) is list else list(vector)


def _metadata(value: dict[str, Any] | None) -> dict[str, MetadataValue]:
    return dict(value) if value else {}


def _replacing(upsert: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The upsert, with metadata that replaces what the ids hold now (not merges).

    Chroma's upsert merges metadata and deletes a key only when it is set to None,
    so keys the stored version has and the new one lacks are sent as None. Chroma
    refuses empty metadata dicts; None means "no metadata".
    """
    old = {i: m for i, m in zip(stored["ids"], stored["metadatas"], strict=True) if m}
    if not old:  # nothing stored under these ids has metadata: nothing to clear
        return {**upsert, "metadatas": [meta or None for meta in upsert["metadatas"]]}
    metadatas: list[dict[str, Any] | None] = []
    for doc_id, meta in zip(upsert["ids"], upsert["metadatas"], strict=True):
        merged: dict[str, Any] = dict.fromkeys(old.get(doc_id, {}))
        merged.update(meta)
        metadatas.append(merged or None)
    return {**upsert, "metadatas": metadatas}


def _results(result: dict[str, Any], space: str) -> list[SearchResult]:
    ids, texts = result["ids"][0], result["documents"][0]
    metadatas, distances = result["metadatas"][0], result["distances"][0]
    return [
        SearchResult(Document(text, id=doc_id, metadata=_metadata(meta)), score(dist, space))
        for doc_id, text, meta, dist in zip(ids, texts, metadatas, distances, strict=True)
    ]


def _search(collection: Any, query: dict[str, Any], space: str) -> list[SearchResult]:
    """Query and build the results on the worker thread, right after chroma answers (its
    result is still in that core's cache); the loop thread only takes the list."""
    return _results(collection.query(**query), space)


def _upsert_replacing(collection: Any, upsert: dict[str, Any]) -> None:
    """Read the stored metadata and upsert, in one call on the worker thread."""
    stored = collection.get(ids=upsert["ids"], include=["metadatas"])
    collection.upsert(**_replacing(upsert, stored))


class ChromaProvider(RAGProvider):
    """Documents and vectors in a chroma collection."""

    def __init__(
        self,
        *,
        collection: str = "pepperpy",
        path: str | None = None,
        data_dir: str | None = None,
        host: str | None = None,
        port: int | None = None,
        ssl: bool = False,
        distance: str = "cosine",
        inline_search_ms: float = 5,
    ) -> None:
        super().__init__(
            collection=collection,
            path=path,
            data_dir=data_dir,
            host=host,
            port=port,
            ssl=ssl,
            distance=distance,
            inline_search_ms=inline_search_ms,
        )
        if distance not in _DISTANCES:
            raise ValidationError(
                f"chroma: distance must be one of {', '.join(_DISTANCES)}, got {distance!r}"
            )
        if (host is None) != (port is None):
            raise ValidationError(
                "chroma: pass both host=... and port=... for client/server mode, or neither "
                "for the embedded store"
            )
        self._client: Any = None
        self._collection: Any = None
        self._worker: Worker | None = None
        self._remote = host is not None
        self._max_batch = 1000
        self._inline_s = inline_search_ms / 1000
        self._quick = False  # the last search took under inline_search_ms

    @property
    def path(self) -> Path:
        """The embedded store's folder: ``path``, else ``data_dir/chroma``."""
        if self.config.get("path"):
            return Path(self.config["path"]).expanduser()
        if self.config.get("data_dir"):
            return Path(self.config["data_dir"]).expanduser() / "chroma"
        raise ConfigurationError(
            "chroma: no folder for the embedded store; pass path=... or data_dir=..., "
            "or host=... and port=... for a chroma server"
        )

    @property
    def where(self) -> str:
        """Where the data lives, for messages (never a secret)."""
        if self._remote:
            return f"chroma server {self.config['host']}:{self.config['port']}"
        return f"chroma store {self.path}"

    # -- lifecycle --------------------------------------------------------------
    async def initialize(self) -> None:
        try:
            if self._remote:
                await self._open_remote()
            else:
                self._worker = Worker("pepperpy-chroma")
                await self._worker.call(self._open_embedded, self.path)
            await self._find("get_collection", "open the collection")
        except PepperpyError:
            await self._release()
            raise
        except Exception as exc:
            await self._release()
            raise self._translate(exc, "open the collection") from exc
        await super().initialize()

    async def cleanup(self) -> None:
        await self._release()
        await super().cleanup()

    def _settings(self) -> Any:
        with provider_imports():  # other providers may be importing numpy right now
            from chromadb.config import Settings

        return Settings(anonymized_telemetry=False)

    def _open_embedded(self, path: Path) -> None:
        with provider_imports():
            import chromadb

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(path=str(path), settings=self._settings())
        self._max_batch = self._client.get_max_batch_size()

    async def _open_remote(self) -> None:
        with provider_imports():
            import chromadb

        self._client = await chromadb.AsyncHttpClient(
            host=self.config["host"],
            port=int(self.config["port"]),
            ssl=bool(self.config.get("ssl")),
            settings=self._settings(),
        )
        self._max_batch = await self._client.get_max_batch_size()

    async def _existing(self) -> Any:
        """The collection, or None while it does not exist; never creates it."""
        if self._collection is None:
            await self._find("get_collection", "open the collection")
        return self._collection

    async def _created(self) -> Any:
        """The collection, created (with the configured distance) if it does not exist."""
        if self._collection is None:
            await self._find("get_or_create_collection", "create the collection")
        return self._collection

    async def _find(self, method: str, action: str) -> None:
        """Look the collection up (or create it) and keep it once its distance checks out."""
        from chromadb.errors import NotFoundError

        client = self._client
        if client is None:
            raise self._not_initialised()
        args: dict[str, Any] = {"name": self.config["collection"], "embedding_function": None}
        if method == "get_or_create_collection":  # the distance is fixed at creation
            args["configuration"] = {"hnsw": {"space": self.config["distance"]}}
        try:
            if self._worker is None:
                found = await getattr(client, method)(**args)
            else:
                found = await self._worker.call(getattr(client, method), **args)
        except NotFoundError:
            return
        except PepperpyError:
            raise
        except Exception as exc:
            raise self._translate(exc, action) from exc
        self._check_distance(found)
        self._collection = found

    def _check_distance(self, collection: Any) -> None:
        """An existing collection keeps its distance; refuse a silent mismatch."""
        with warnings.catch_warnings():  # chroma warns that "no embedding function" is legacy
            warnings.simplefilter("ignore", DeprecationWarning)
            config = getattr(collection, "configuration", None) or {}
        space = (config.get("hnsw") or {}).get("space") or (config.get("spann") or {}).get("space")
        if space and space != self.config["distance"]:
            raise ConfigurationError(
                f"chroma: collection {self.config['collection']!r} in {self.where} uses "
                f"distance {space!r}, not {self.config['distance']!r}; pass "
                f"distance={space!r} or use another collection name"
            )

    async def _release(self) -> None:
        client, self._client, self._collection = self._client, None, None
        worker, self._worker = self._worker, None
        if worker is None:
            return  # the async HTTP client holds no local resources we must free
        try:
            if client is not None:
                await worker.call(client.close)  # frees the embedded system and file handles
        finally:
            worker.stop()

    # -- calls --------------------------------------------------------------------
    def _not_initialised(self) -> ConfigurationError:
        return ConfigurationError(
            "chroma is not initialised; use it inside `async with PepperPy(...)` or "
            "call `await provider.initialize()` first"
        )

    def _open_collection(self) -> Any:
        if self._collection is None:
            raise self._not_initialised()
        return self._collection

    async def _call(self, method: str, action: str, **kwargs: Any) -> Any:
        """Run a collection method: awaited over HTTP, on the worker thread when embedded."""
        collection = self._open_collection()
        try:
            if self._worker is None:
                return await getattr(collection, method)(**kwargs)
            return await self._worker.call(getattr(collection, method), **kwargs)
        except PepperpyError:
            raise
        except Exception as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: Exception, action: str) -> PepperpyError:
        from chromadb.errors import ChromaError, InvalidArgumentError

        dimensions = _DIMENSION.search(str(exc))
        if dimensions:
            return BadRequestError(dimension_message(
                "chroma", self.config["collection"], self.where,
                int(dimensions.group(1)), int(dimensions.group(2))), provider=_PROVIDER)

        if isinstance(exc, InvalidArgumentError | ValueError | TypeError):
            return BadRequestError(
                f"chroma could not {action} in {self.where}: {exc}", provider=_PROVIDER
            )
        if isinstance(exc, ChromaError):
            return ServerError(
                f"chroma failed to {action} in {self.where}: {exc}", provider=_PROVIDER
            )
        return ServerError(
            f"chroma could not {action}: cannot reach {self.where} ({type(exc).__name__}); "
            "check the server is running (`chroma run --path DIR --host HOST --port PORT`)"
            if self._remote
            else f"chroma failed to {action} in {self.where} ({type(exc).__name__}: {exc})",
            provider=_PROVIDER,
        )

    async def add(
        self, documents: Sequence[Document], embeddings: Sequence[Sequence[float]]
    ) -> list[str]:
        if len(documents) != len(embeddings):
            raise ValidationError(
                f"chroma add: {len(documents)} documents but {len(embeddings)} embeddings; "
                "pass one vector per document"
            )
        # The last of duplicate ids wins, as if they were added one after the other.
        latest = {doc.id: (doc, vec) for doc, vec in zip(documents, embeddings, strict=True)}
        items = list(latest.values())
        if items and self._collection is None:
            await self._created()
        for start in range(0, len(items), self._max_batch):
            batch = items[start : start + self._max_batch]
            upsert = {
                "ids": [doc.id for doc, _ in batch],
                "embeddings": [_floats(vec) for _, vec in batch],
                "documents": [doc.text for doc, _ in batch],
                "metadatas": [doc.metadata for doc, _ in batch],
            }
            if self._worker is None:  # over HTTP: two awaited requests
                stored = await self._call(
                    "get", "add documents", ids=upsert["ids"], include=["metadatas"]
                )
                await self._call("upsert", "add documents", **_replacing(upsert, stored))
            else:  # embedded: one trip to the worker thread
                self._quick = False  # the next search is timed on the worker again
                await self._on_worker(_upsert_replacing, "add documents", upsert)
        return [doc.id for doc in documents]

    def _on_worker(self, fn: Any, action: str, *args: Any) -> Any:
        """``fn(collection, *args)`` on the worker thread, errors translated there too:
        the future it returns is awaited directly, one coroutine fewer on the way back."""
        collection, worker = self._open_collection(), self._worker
        assert worker is not None  # embedded mode
        return worker.submit(self._translated, fn, action, collection, *args)

    def _translated(self, fn: Any, action: str, *args: Any) -> Any:
        try:
            return fn(*args)
        except PepperpyError:
            raise
        except Exception as exc:
            raise self._translate(exc, action) from exc

    async def search(
        self,
        embedding: Sequence[float],
        *,
        k: int = 4,
        where: dict[str, MetadataValue] | None = None,
    ) -> list[SearchResult]:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValidationError(f"chroma search: k must be a positive integer, got {k!r}")
        query = {"query_embeddings": [_floats(embedding)], "n_results": k,
                 "where": where_clause(where), "include": _QUERY_INCLUDE}
        space = self.config["distance"]
        if self._collection is None and await self._existing() is None:
            return []  # no collection of this name: nothing to find, and nothing made
        worker = self._worker
        if worker is None:
            return _results(await self._call("query", "search", **query), space)
        if self._quick:  # on this thread, unless another call is queued or running
            found = worker.here(self._translated, self._timed_search, "search",
                                self._collection, query, space)
            if found is not BUSY:
                return found  # type: ignore[no-any-return]
        # embedded: query and results in one trip
        return await self._on_worker(self._timed_search, "search", query, space)  # type: ignore[no-any-return]

    def _timed_search(self, collection: Any, query: dict[str, Any], space: str
                      ) -> list[SearchResult]:
        """``_search``, remembering whether it was quick enough to run the next one on
        the event loop's thread."""
        start = perf_counter()
        try:
            return _search(collection, query, space)
        finally:
            self._quick = perf_counter() - start < self._inline_s

    async def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        if not ids or await self._existing() is None:
            return
        self._quick = False
        for start in range(0, len(ids), self._max_batch):
            await self._call("delete", "delete documents", ids=ids[start : start + self._max_batch])

    async def count(self) -> int:
        if await self._existing() is None:
            return 0
        return int(await self._call("count", "count documents"))

    async def ids(self, where: dict[str, MetadataValue]) -> list[str]:
        clause = where_clause(where)
        if await self._existing() is None:
            return []
        result = await self._call("get", "list documents", where=clause, include=[])
        return list(result["ids"])

    async def get(self, ids: Sequence[str]) -> list[Document]:
        wanted = list(dict.fromkeys(ids))
        if not wanted or await self._existing() is None:
            return []
        found: dict[str, Document] = {}
        for start in range(0, len(wanted), self._max_batch):
            result = await self._call(
                "get",
                "get documents",
                ids=wanted[start : start + self._max_batch],
                include=_INCLUDE,
            )
            for doc_id, text, meta in zip(
                result["ids"], result["documents"], result["metadatas"], strict=True
            ):
                found[doc_id] = Document(text, id=doc_id, metadata=_metadata(meta))
        return [found[i] for i in wanted if i in found]
