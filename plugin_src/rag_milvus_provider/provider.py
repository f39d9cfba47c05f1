"""Milvus vector store: milvus-lite on disk by default, a Milvus cluster with a URL.

Invariants:
- the same pymilvus ``MilvusClient`` calls serve both modes: a ``uri`` ending in
  ``.db`` is an embedded milvus-lite file, ``http(s)://`` a standalone or distributed
  Milvus; the collection is created with Strong consistency, so a read sees every
  write before it on either;
- the collection is created on the first add, when the vectors' dimension is known,
  unless another provider or process made it first (a lost race to create it is not an
  error); until a provider has seen the collection, each call looks it up again (one
  ``has_collection`` on the worker, only in that case), checks it and keeps it;
  after that a vector of another length is refused before any call, with a message
  naming the collection, both dimensions and the fix (``dimension_message``);
- adds are upserts by document id (a VARCHAR primary key), so adding again is a no-op;
- metadata is one JSON field; filters are built from ``where`` with keys and values
  JSON-quoted (never pasted raw into the expression);
- pymilvus is synchronous: every call runs on one dedicated worker thread;
- embedded, the first search after writes flushes the collection first: milvus-lite
  searches unsealed rows by brute force on a slow path (about 3 s a query at 10,000
  rows here, 0.25 s once flushed), and one flush after an ingestion is cheaper than
  that on every query; a server seals segments itself, so nothing is flushed there;
- scores are "higher is closer, at most 1": cosine and inner product as Milvus returns
  them, l2 ``1 / (1 + d)``; pymilvus's exceptions become PepperpyError subclasses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
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

from ._worker import Worker

__all__ = ["MilvusProvider", "filter_expression"]

_PROVIDER = "milvus"
_METRICS = {"cosine": "COSINE", "l2": "L2", "ip": "IP"}
_MAX_TEXT_BYTES = 65535
_MAX_ID = 512
_MAX_K = 16384
_BATCH = 1000
_OUTPUT = ["text", "metadata"]
_RACE_WAIT = 5.0  # seconds a losing creator waits for the winner's collection


def filter_expression(where: dict[str, MetadataValue] | None) -> str:
    """Milvus's filter for "metadata equals every pair", every key and value quoted."""
    if not where:
        return ""
    terms = []
    for key, value in where.items():
        if not isinstance(key, str) or not key or key.startswith("$"):
            raise ValidationError(f"metadata filter key {key!r} must be a plain non-empty name")
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, int | float | str):
            literal = json.dumps(value, ensure_ascii=False)
        else:
            raise ValidationError(
                f"metadata filter value for {key!r} must be str, int, float or bool, "
                f"got {type(value).__name__}"
            )
        terms.append(f"metadata[{json.dumps(key, ensure_ascii=False)}] == {literal}")
    return " and ".join(terms)


def score(distance: float, space: str) -> float:
    """Similarity from what Milvus returns: higher is closer, at most 1."""
    return 1.0 / (1.0 + distance) if space == "l2" else float(distance)


class MilvusProvider(RAGProvider):
    """Documents and vectors in a Milvus collection."""

    def __init__(
        self,
        *,
        collection: str = "pepperpy",
        uri: str | None = None,
        token: str | None = None,
        db_name: str | None = None,
        data_dir: str | None = None,
        distance: str = "cosine",
    ) -> None:
        super().__init__(collection=collection, uri=uri, token=token, db_name=db_name,
                         data_dir=data_dir, distance=distance)
        if distance not in _METRICS:
            raise ValidationError(
                f"milvus: distance must be one of {', '.join(_METRICS)}, got {distance!r}"
            )
        self._client: Any = None
        self._worker: Worker | None = None
        self._dimension: int | None = None
        self._unflushed = False  # embedded writes not sealed yet (see the invariants)

    @property
    def uri(self) -> str:
        """``uri``, else ``data_dir/milvus.db`` (an embedded milvus-lite file)."""
        if self.config.get("uri"):
            return str(self.config["uri"])
        if self.config.get("data_dir"):
            return str(Path(self.config["data_dir"]).expanduser() / "milvus.db")
        raise ConfigurationError(
            "milvus: no store; pass uri='path/milvus.db' (embedded) or "
            "uri='http://host:19530' (a Milvus server), or data_dir=..."
        )

    @property
    def remote(self) -> bool:
        return self.uri.startswith(("http://", "https://", "tcp://", "unix:"))

    @property
    def where(self) -> str:
        """Where the data lives, for messages (never the token)."""
        return f"milvus server {self.uri}" if self.remote else f"milvus-lite file {self.uri}"

    @property
    def name(self) -> str:
        return str(self.config["collection"])

    # -- lifecycle --------------------------------------------------------------
    async def initialize(self) -> None:
        self._worker = Worker("pepperpy-milvus")
        try:
            await self._run(self._open, "open the collection")
        except PepperpyError:
            await self._release()
            raise
        await super().initialize()

    async def cleanup(self) -> None:
        await self._release()
        await super().cleanup()

    def _open(self) -> None:
        with provider_imports():
            from pymilvus import MilvusClient

        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # we translate its errors
        uri = self.uri
        if not self.remote:
            if not uri.endswith(".db"):
                raise ConfigurationError(
                    f"milvus: an embedded store is a file ending in .db, got uri={uri!r}; "
                    "use http://host:port for a Milvus server"
                )
            Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"uri": uri}
        if self.config.get("token"):
            options["token"] = self.config["token"]
        if self.config.get("db_name"):
            options["db_name"] = self.config["db_name"]
        self._client = MilvusClient(**options)
        self._find()

    def _find(self) -> bool:
        """Look the collection up and, if it exists, check and keep it (on the worker)."""
        if self._client.has_collection(self.name):
            self._check_existing(self._client.describe_collection(self.name))
        return self._dimension is not None

    async def _seen(self) -> bool:
        """Whether the collection exists: looked up again only while it has not been seen,
        since another provider or process may have made it since."""
        return self._dimension is not None or bool(
            await self._run(self._find, "look up the collection"))

    def _check_existing(self, described: dict[str, Any]) -> None:
        fields = {f["name"]: f for f in described.get("fields", [])}
        vector = fields.get("vector")
        if vector is None or not {"id", "text", "metadata"} <= set(fields):
            raise ConfigurationError(
                f"milvus: collection {self.name!r} in {self.where} was not made by PepperPy "
                "(it lacks the id, vector, text and metadata fields); use another collection"
            )
        index = self._client.describe_index(self.name, "vector") or {}
        metric = str(index.get("metric_type") or "").upper()
        wanted = _METRICS[self.config["distance"]]
        if metric and metric != wanted:
            space = {v: k for k, v in _METRICS.items()}.get(metric, metric.lower())
            raise ConfigurationError(
                f"milvus: collection {self.name!r} in {self.where} uses distance "
                f"{space!r}, not {self.config['distance']!r}; pass distance={space!r} or "
                "use another collection name"
            )
        self._dimension = int(vector["params"]["dim"])  # kept only once it passed the checks

    def _create_once(self, dimension: int) -> None:
        """Create the collection unless it exists now; a creator that won a race wins."""
        if self._find():
            return
        try:
            self._create(dimension)
        except Exception:
            # another creator may be half-way (milvus-lite refuses with "File exists"
            # before the collection is listed): give it a moment to finish
            deadline = time.monotonic() + _RACE_WAIT
            while not self._find():
                if time.monotonic() > deadline:
                    raise  # nobody made it meanwhile: a real failure
                time.sleep(0.02)

    def _create(self, dimension: int) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_MAX_ID)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT_BYTES)
        schema.add_field("metadata", DataType.JSON)
        index = self._client.prepare_index_params()
        index.add_index(field_name="vector", index_type="AUTOINDEX",
                        metric_type=_METRICS[self.config["distance"]])
        self._client.create_collection(self.name, schema=schema, index_params=index,
                                       consistency_level="Strong")
        self._dimension = dimension

    async def _release(self) -> None:
        client, self._client = self._client, None
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            if client is not None:
                await worker.call(client.close)
        except Exception:  # closing a broken connection: nothing left to free
            pass
        finally:
            worker.stop()

    # -- calls --------------------------------------------------------------------
    async def _run(self, fn: Any, action: str, *args: Any, **kwargs: Any) -> Any:
        if self._worker is None:
            raise ConfigurationError(
                "milvus is not initialised; use it inside `async with PepperPy(...)` or "
                "call `await provider.initialize()` first"
            )
        try:
            return await self._worker.call(fn, *args, **kwargs)
        except PepperpyError:
            raise
        except Exception as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: Exception, action: str) -> PepperpyError:
        from pymilvus.exceptions import MilvusException

        if isinstance(exc, MilvusException) and getattr(exc, "code", None) in (1100, 6):
            return BadRequestError(f"milvus could not {action} in {self.where}: "
                                   f"{exc.message}", provider=_PROVIDER)
        if self.remote:
            return ServerError(
                f"milvus could not {action}: {type(exc).__name__} from {self.where} "
                f"({str(exc)[:200]}); check the server is running and the uri and token",
                provider=_PROVIDER)
        return ServerError(f"milvus failed to {action} in {self.where} "
                           f"({type(exc).__name__}: {str(exc)[:200]})", provider=_PROVIDER)

    def _check_vectors(self, vectors: Sequence[Sequence[float]]) -> None:
        for vector in vectors:
            if self._dimension is not None and len(vector) != self._dimension:
                raise BadRequestError(dimension_message(
                    "milvus", self.name, self.where, self._dimension, len(vector)),
                    provider=_PROVIDER)

    async def add(
        self, documents: Sequence[Document], embeddings: Sequence[Sequence[float]]
    ) -> list[str]:
        if len(documents) != len(embeddings):
            raise ValidationError(
                f"milvus add: {len(documents)} documents but {len(embeddings)} embeddings; "
                "pass one vector per document"
            )
        if not documents:
            return []
        latest = {doc.id: (doc, vec) for doc, vec in zip(documents, embeddings, strict=True)}
        rows = [_row(doc, vec) for doc, vec in latest.values()]
        if self._dimension is None:
            await self._run(self._create_once, "create the collection", len(rows[0]["vector"]))
        self._check_vectors([r["vector"] for r in rows])
        for start in range(0, len(rows), _BATCH):
            await self._run(self._upsert, "add documents", rows[start : start + _BATCH])
        return [doc.id for doc in documents]

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        self._client.upsert(self.name, data=rows)
        self._unflushed = not self.remote

    async def search(
        self,
        embedding: Sequence[float],
        *,
        k: int = 4,
        where: dict[str, MetadataValue] | None = None,
    ) -> list[SearchResult]:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= _MAX_K:
            raise ValidationError(
                f"milvus search: k must be an integer from 1 to {_MAX_K}, got {k!r}")
        expression = filter_expression(where)
        if not await self._seen():
            return []
        self._check_vectors([embedding])
        hits = await self._run(self._search, "search", list(embedding), k, expression)
        space = self.config["distance"]
        return [
            SearchResult(_document(hit["id"], hit["entity"]), score(hit["distance"], space))
            for hit in hits
        ]

    def _search(self, vector: list[float], k: int, expression: str) -> list[dict[str, Any]]:
        if self._unflushed:
            self._client.flush(self.name)
            self._unflushed = False
        found = self._client.search(self.name, data=[vector], limit=k, filter=expression,
                                    output_fields=_OUTPUT)
        return list(found[0])

    async def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        if not ids or not await self._seen():
            return
        for start in range(0, len(ids), _BATCH):
            await self._run(self._delete, "delete documents", ids[start : start + _BATCH])

    def _delete(self, ids: list[str]) -> None:
        self._client.delete(self.name, ids=ids)

    async def count(self) -> int:
        if not await self._seen():
            return 0
        return int(await self._run(self._count, "count documents"))

    def _count(self) -> int:
        rows = self._client.query(self.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    async def get(self, ids: Sequence[str]) -> list[Document]:
        wanted = list(dict.fromkeys(ids))
        if not wanted or not await self._seen():
            return []
        found: dict[str, Document] = {}
        for start in range(0, len(wanted), _BATCH):
            rows = await self._run(self._get, "get documents", wanted[start : start + _BATCH])
            found.update((row["id"], _document(row["id"], row)) for row in rows)
        return [found[i] for i in wanted if i in found]

    def _get(self, ids: list[str]) -> list[dict[str, Any]]:
        return list(self._client.get(self.name, ids=ids, output_fields=_OUTPUT))

    async def ids(self, where: dict[str, MetadataValue]) -> list[str]:
        expression = filter_expression(where)
        if not await self._seen():
            return []
        return list(await self._run(self._ids, "list documents", expression))

    def _ids(self, expression: str) -> list[str]:
        iterator = self._client.query_iterator(self.name, batch_size=_BATCH,
                                               filter=expression, output_fields=["id"])
        out: list[str] = []
        try:
            while batch := iterator.next():
                out += [row["id"] for row in batch]
        finally:
            iterator.close()
        return out


def _row(doc: Document, vector: Sequence[float]) -> dict[str, Any]:
    if len(doc.id.encode()) > _MAX_ID:
        raise ValidationError(f"milvus: document id {doc.id[:40]!r}... is longer than "
                              f"{_MAX_ID} bytes")
    if len(doc.text.encode()) > _MAX_TEXT_BYTES:
        raise ValidationError(
            f"milvus: document {doc.id[:40]!r} has {len(doc.text.encode())} bytes of text; "
            f"a Milvus text field holds {_MAX_TEXT_BYTES}: chunk it (rag.add_texts and "
            "rag.add_files do)")
    return {"id": doc.id, "vector": vector if isinstance(vector, list) else list(vector),
            "text": doc.text,
            "metadata": dict(doc.metadata)}


def _document(doc_id: str, entity: dict[str, Any]) -> Document:
    return Document(entity["text"], id=doc_id, metadata=dict(entity.get("metadata") or {}))
