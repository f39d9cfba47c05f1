"""Benchmark: RAG on chroma through PepperPy vs raw chromadb; storage sqlite vs PostgreSQL.

Run: ``python bench/bench_rag_storage.py [--docs 2000] [--queries 300] [--ops 2000]
[--rounds 5] [--smoke]`` (``--smoke``: 100 docs, 20 queries, 50 ops, one round).

- RAG: the same random unit vectors go into an embedded chroma store three ways: raw
  chromadb (sync calls, the baseline), the chroma plugin's provider, and PepperPy's
  ``rag`` builder (with an embedder that looks the precomputed vectors up, so no model
  time is measured). Target: PepperPy's paths >= 0.9x raw chromadb.
- Storage: puts, gets, lists and deletes per second on sqlite (a file in a temp folder)
  and on a throwaway PostgreSQL cluster started with its durable defaults
  (``tests/support/postgres.py``), one at a time and with 8 concurrent tasks.

A script, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.plugins import register_source_plugins  # noqa: E402
from support.postgres import start_cluster  # noqa: E402
from support.vectors import unit  # noqa: E402

from pepperpy.embeddings import EmbeddingProvider  # noqa: E402
from pepperpy.pepperpy import PepperPy  # noqa: E402
from pepperpy.rag import Document, RAGProvider  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402
from pepperpy.storage import StorageProvider  # noqa: E402

DIM = 384  # all-MiniLM-L6-v2's dimension, what the local embeddings plugin returns
ROUNDS = 5


class LookupEmbeddings(EmbeddingProvider):
    """Returns precomputed vectors by text: PepperPy's path without model time."""

    table: ClassVar[dict[str, list[float]]] = {}

    @property
    def dimension(self) -> int:
        return DIM

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]


def _vectors(n: int, rng: random.Random) -> list[list[float]]:
    return [unit([rng.gauss(0, 1) for _ in range(DIM)]) for _ in range(n)]


def _best(timings: list[float]) -> float:
    return min(timings)


# -- RAG ------------------------------------------------------------------------------


class RawChroma:
    """The baseline: chromadb's own client, called directly (synchronously)."""

    def __init__(self, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        self.client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
        self.col = self.client.get_or_create_collection(
            "bench", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def add(self, texts: list[str], vecs: list[list[float]]) -> None:
        batch = self.client.get_max_batch_size()
        for s in range(0, len(texts), batch):
            self.col.upsert(
                ids=[f"id{i}" for i in range(s, min(s + batch, len(texts)))],
                embeddings=vecs[s : s + batch],
                documents=texts[s : s + batch],
                metadatas=[{"i": i} for i in range(s, min(s + batch, len(texts)))],
            )

    def query(self, vector: list[float]) -> None:
        self.col.query(
            query_embeddings=[vector], n_results=5, include=["documents", "metadatas", "distances"]
        )


async def _timed(run: Awaitable[object]) -> float:
    start = time.perf_counter()
    await run
    return time.perf_counter() - start


async def _one_round(
    registry: ProviderRegistry,
    tmp: Path,
    texts: list[str],
    vecs: list[list[float]],
    query_texts: list[str],
    queries: list[list[float]],
) -> dict[str, tuple[float, float]]:
    """Add the same vectors three ways, then query in interleaved blocks (fair under load)."""
    docs = [Document(t, id=f"id{i}", metadata={"i": i}) for i, t in enumerate(texts)]
    raw = RawChroma(tmp / "raw")
    start = time.perf_counter()
    raw.add(texts, vecs)
    adds = {"raw": time.perf_counter() - start}
    provider = registry.create(
        "rag", "chroma", {"path": str(tmp / "plugin"), "collection": "bench"}
    )
    assert isinstance(provider, RAGProvider)
    await provider.initialize()
    adds["provider"] = await _timed(provider.add(docs, vecs))
    pepper = (
        PepperPy(registry=registry)
        .with_embeddings("lookup")
        .with_rag("chroma", path=str(tmp / "pepper"), collection="bench")
    )
    await pepper.initialize()
    adds["pepperpy"] = await _timed(pepper.rag.add_documents(docs))
    spent = dict.fromkeys(["raw", "raw in thread", "provider", "pepperpy"], 0.0)
    try:
        for s in range(0, len(queries), 20):
            start = time.perf_counter()
            for q in queries[s : s + 20]:
                raw.query(q)
            spent["raw"] += time.perf_counter() - start
            start = time.perf_counter()
            for q in queries[s : s + 20]:
                await asyncio.to_thread(raw.query, q)
            spent["raw in thread"] += time.perf_counter() - start
            start = time.perf_counter()
            for q in queries[s : s + 20]:
                await provider.search(q, k=5)
            spent["provider"] += time.perf_counter() - start
            start = time.perf_counter()
            for t in query_texts[s : s + 20]:
                await pepper.rag.search(t, k=5)
            spent["pepperpy"] += time.perf_counter() - start
    finally:
        raw.client.close()
        await provider.cleanup()
        await pepper.aclose()
    adds["raw in thread"] = adds["raw"]
    return {name: (adds[name], spent[name]) for name in spent}


async def bench_rag(n_docs: int, n_queries: int) -> None:
    rng = random.Random(42)
    texts = [
        f"document {i}: " + " ".join(rng.choice("abcdefgh") * 3 for _ in range(12))
        for i in range(n_docs)
    ]
    vecs = _vectors(n_docs, rng)
    query_texts = [f"query {i}" for i in range(n_queries)]
    queries = _vectors(n_queries, rng)
    registry = register_source_plugins(ProviderRegistry(), "rag_chroma_provider")
    LookupEmbeddings.table = dict(zip(texts + query_texts, vecs + queries, strict=True))
    registry.register("embeddings", "lookup", LookupEmbeddings)
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as tmp:
        for r in range(ROUNDS):  # fresh folders each round: no warm-cache advantage
            folder = Path(tmp, f"round{r}")
            round_ = await _one_round(registry, folder, texts, vecs, query_texts, queries)
            for name, timing in round_.items():
                results.setdefault(name, []).append(timing)
    raw_add = _best([a for a, _ in results["raw"]])
    raw_q = _best([q for _, q in results["raw"]])
    thread_q = _best([q for _, q in results["raw in thread"]])
    print(
        f"\nRAG on embedded chroma: {n_docs} docs x {DIM}-d, {n_queries} queries (k=5), "
        f"best of {ROUNDS}"
    )
    print("raw: chromadb called directly, blocking the event loop; raw in thread: the same")
    print("calls through asyncio.to_thread, as an async application must (the plugin does).")
    print(
        f"{'path':<15}{'add docs/s':>12}{'vs raw':>9}"
        f"{'queries/s':>12}{'vs raw':>9}{'vs thread':>11}"
    )
    for name, runs in results.items():
        add, q = _best([a for a, _ in runs]), _best([q for _, q in runs])
        print(
            f"{name:<15}{n_docs / add:>12,.0f}{raw_add / add:>8.2f}x"
            f"{n_queries / q:>12,.0f}{raw_q / q:>8.2f}x{thread_q / q:>10.2f}x"
        )


# -- storage --------------------------------------------------------------------------


async def _storage_ops(provider: StorageProvider, n: int) -> dict[str, float]:
    value = {"role": "user", "content": "hello " * 20, "tokens": 42, "tags": ["a", "b"]}
    rates: dict[str, float] = {}
    start = time.perf_counter()
    for i in range(n):
        await provider.put("bench", f"k{i:06d}", value)
    rates["put"] = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(n):
        await provider.get("bench", f"k{i:06d}")
    rates["get"] = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(100):
        await provider.list("bench", prefix=f"k00{i % 10}")
    rates["list"] = 100 / (time.perf_counter() - start)

    async def worker(w: int) -> None:
        for i in range(n // 8):
            await provider.put("bench-c", f"w{w}:{i}", value)

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(8)))
    rates["put x8 tasks"] = (n // 8 * 8) / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(n):
        await provider.delete("bench", f"k{i:06d}")
    rates["delete"] = n / (time.perf_counter() - start)
    return rates


async def bench_storage(n: int) -> None:
    registry = register_source_plugins(
        ProviderRegistry(), "storage_sqlite_provider", "storage_postgres_provider"
    )
    cluster = start_cluster(dbname="bench")
    table: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as tmp:
            for name, config in (
                ("sqlite", {"path": str(Path(tmp, "bench.sqlite3"))}),
                ("postgres", {"dsn": cluster.dsn(), "max_size": 8}),
            ):
                provider = registry.create("storage", name, config)
                assert isinstance(provider, StorageProvider)
                await provider.initialize()
                try:
                    table[name] = await _storage_ops(provider, n)
                finally:
                    await provider.cleanup()
    finally:
        cluster.stop()
    print(
        f"\nStorage operations/s ({n} keys; postgres over its unix socket, durable "
        "defaults; sqlite WAL, synchronous=NORMAL)"
    )
    print(f"{'operation':<15}{'sqlite':>12}{'postgres':>12}")
    for op in table["sqlite"]:
        print(f"{op:<15}{table['sqlite'][op]:>12,.0f}{table['postgres'][op]:>12,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a little work, one round")
    args = parser.parse_args()
    global ROUNDS
    ROUNDS = 1 if args.smoke else args.rounds
    if args.smoke:
        args.docs, args.queries, args.ops = 100, 20, 50
    asyncio.run(bench_rag(args.docs, args.queries))
    asyncio.run(bench_storage(args.ops))


if __name__ == "__main__":
    main()
