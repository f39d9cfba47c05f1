"""Benchmark: the milvus plugin vs raw pymilvus on the same embedded milvus-lite store.

Run: ``python bench/bench_milvus.py [--sizes 10000,100000] [--queries 50] [--smoke]``
(``--smoke``: 500 chunks, 20 queries).

For each size, the same random 384-float unit vectors (what the local embeddings
plugin returns) go into a fresh milvus-lite file two ways:
- raw (the baseline): ``MilvusClient`` called directly, the same schema (VARCHAR id,
  vector, text, JSON metadata), AUTOINDEX cosine, Strong consistency, upserts of 1,000
  rows (building the rows from the documents is counted), one ``flush`` after the adds
  (counted with them), ``search(limit=4)`` reading each hit;
- PepperPy: the signed milvus plugin's provider: ``add`` (its own 1,000-row batches,
  the dimension check; the flush it does before its first search after writes is
  counted with the adds) and ``search(k=4)``, each call on its worker thread, awaited.
The two run interleaved, batch by batch and query by query, alternating which goes
first. Printed: adds/s and median query latency for both, and PepperPy's rate as a
share of raw (target >= 0.95x for both).

A script, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _signed import signed_registry  # noqa: E402

from pepperpy.rag import Document  # noqa: E402

DIM = 384
BATCH = 1000


def vectors(n: int, seed: int) -> list[list[float]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, DIM), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data.tolist()  # type: ignore[no-any-return]


def raw_client(path: Path) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(str(path))


def raw_create(client: Any) -> None:
    """The collection, made on the first add as the plugin makes its own (timed alike)."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    schema.add_field("metadata", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_collection("raw", schema=schema, index_params=index,
                             consistency_level="Strong")


async def one_size(registry: Any, work: Path, size: int, n_queries: int) -> None:
    """Raw and PepperPy interleaved batch by batch and query by query (a busy machine's
    drift hits both alike), each on its own milvus-lite file."""
    vecs = vectors(size, seed=size)
    docs = [Document(f"chunk {i} of the bench corpus", id=f"c{i}",
                     metadata={"source": f"file-{i % 50}.pdf", "page": i % 300 + 1})
            for i in range(size)]
    queries = vectors(n_queries, seed=size + 1)
    client = raw_client(work / f"raw-{size}.db")
    provider = registry.create("rag", "milvus", {"uri": str(work / f"ours-{size}.db"),
                                                 "collection": "ours"})
    await provider.initialize()
    raw_add = our_add = 0.0
    raw_lat: list[float] = []
    our_lat: list[float] = []
    try:
        for n, start in enumerate(range(0, size, BATCH)):
            batch_docs, batch_vecs = docs[start : start + BATCH], vecs[start : start + BATCH]
            for turn in ((0, 1) if n % 2 else (1, 0)):
                began = time.perf_counter()
                if turn:
                    await provider.add(batch_docs, batch_vecs)
                    our_add += time.perf_counter() - began
                else:
                    if n == 0:
                        raw_create(client)
                    rows = [{"id": d.id, "vector": v, "text": d.text,
                             "metadata": dict(d.metadata)}
                            for d, v in zip(batch_docs, batch_vecs, strict=True)]
                    client.upsert("raw", data=rows)
                    raw_add += time.perf_counter() - began
        # What a careful hand-written client does after adding: flush, so searches use
        # sealed, indexed segments (the plugin flushes before its first search after
        # writes). Timed with the adds, with one first search each.
        began = time.perf_counter()
        client.flush("raw")
        client.search("raw", data=[queries[0]], limit=4, output_fields=["text", "metadata"])
        raw_add += time.perf_counter() - began
        began = time.perf_counter()
        await provider.search(queries[0], k=4)
        our_add += time.perf_counter() - began
        for n, query in enumerate(queries):
            for turn in ((0, 1) if n % 2 else (1, 0)):
                began = time.perf_counter()
                if turn:
                    await provider.search(query, k=4)
                    our_lat.append(time.perf_counter() - began)
                else:
                    hits = client.search("raw", data=[query], limit=4,
                                         output_fields=["text", "metadata"])
                    [(h["id"], h["distance"], h["entity"]["text"]) for h in hits[0]]
                    raw_lat.append(time.perf_counter() - began)
    finally:
        await provider.cleanup()
        client.close()
    raw_q, our_q = statistics.median(raw_lat), statistics.median(our_lat)
    print(f"{size:>8} {'raw':<9}{size / raw_add:>10,.0f}{raw_q * 1000:>10.2f}")
    print(f"{size:>8} {'pepperpy':<9}{size / our_add:>10,.0f}{our_q * 1000:>10.2f}")
    print(f"{'':>8} ratio: adds {raw_add / our_add:.2f}x, queries "
          f"{raw_q / our_q:.2f}x of raw (target >= 0.95x)")


async def bench(sizes: list[int], n_queries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registry = signed_registry(work / "signed", "rag_milvus_provider")
        print(f"{'chunks':>8} {'path':<9}{'adds/s':>10}{'query ms':>10}")
        for size in sizes:
            await one_size(registry, work, size, n_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="500 chunks, 20 queries")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.smoke:
        sizes, args.queries = [500], 20
    asyncio.run(bench(sizes, args.queries))


if __name__ == "__main__":
    main()
