"""Where a chroma search's time goes beside raw chromadb: the hops to and from the worker.

    .venv/bin/python bench/bench_chroma_hops.py [--smoke] [--size 2000] [--rounds 60]

One embedded store, opened by the chroma plugin with ``inline_search_ms=0`` (every
search through the worker thread, the path a search takes when it is not known to be
quick). The same chromadb query (k=5) runs three ways, in shuffled blocks of 20: raw on
the event loop's thread; through the plugin's worker thread (timestamps on both sides of
each hop, and the query's own CPU on the thread that runs it); and as the plugin's whole
``search``. Printed: medians in us per query. "to worker" is from the loop's submit to
the worker starting the query, "back" from the worker's end of the query to the caller
resuming, "loop CPU" the event loop thread's own CPU per call, "sleeps" the times per
call that the loop thread and the worker thread blocked and had to be woken again
(voluntary context switches, Linux only; a raw query blocks its own thread about twice,
waiting for chroma's threads). No target: this explains the reference line ``bench_chroma.py``
prints. ``--smoke``: 200 chunks, two rounds (the test suite).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_rag_storage import _vectors  # noqa: E402
from support.plugins import register_source_plugins  # noqa: E402

from pepperpy.rag import Document  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402

INCLUDE = ["documents", "metadatas", "distances"]
ns, cpu = time.perf_counter_ns, time.thread_time_ns


def sleeps(*threads: int) -> int:
    """Voluntary context switches of these threads so far (0 where /proc is missing)."""
    total = 0
    for tid in threads:
        try:
            with open(f"/proc/self/task/{tid}/status") as status:
                total += sum(int(line.split()[1]) for line in status
                             if line.startswith("voluntary_ctxt_switches"))
        except OSError:
            return 0
    return total


async def measure(n: int, rounds: int) -> None:
    rng = random.Random(n)
    vecs, queries = _vectors(n, rng), _vectors(20, rng)
    docs = [Document(f"chunk {i} " + "abc " * 12, id=f"id{i}") for i in range(n)]
    registry = register_source_plugins(ProviderRegistry(), "rag_chroma_provider")
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-hops-") as tmp:
        provider: Any = registry.create("rag", "chroma", {"path": tmp, "collection": "bench",
                                                     "inline_search_ms": 0})
        await provider.initialize()
        try:
            await provider.add(docs, vecs)
            collection, worker = provider._collection, provider._worker
            threads = {"raw": (threading.get_native_id(),)}
            threads["worker"] = threads["search"] = (
                threading.get_native_id(), await worker.call(threading.get_native_id))

            def query(q: list[float]) -> tuple[int, int, int]:
                start, start_cpu = ns(), cpu()
                collection.query(query_embeddings=[q], n_results=5, include=INCLUDE)
                return start, ns(), cpu() - start_cpu

            rows: dict[str, dict[str, list[int]]] = {
                side: {"total": [], "to worker": [], "query": [], "query CPU": [], "back": [],
                       "loop CPU": [], "sleeps": []} for side in ("raw", "worker", "search")}
            for q in queries:  # warm every path
                query(q)
                await worker.call(query, q)
                await provider.search(q, k=5)
            for r in range(rounds):
                sides = list(rows)
                random.Random(r).shuffle(sides)
                for side in sides:
                    row = rows[side]
                    before = sleeps(*threads[side])
                    for q in queries:
                        t0, c0 = ns(), cpu()
                        if side == "search":
                            await provider.search(q, k=5)
                            row["total"].append(ns() - t0)
                            row["loop CPU"].append(cpu() - c0)
                            continue
                        t1, t2, used = query(q) if side == "raw" else await worker.call(query, q)
                        t3, loop_cpu = ns(), cpu() - c0
                        row["total"].append(t3 - t0)
                        row["to worker"].append(t1 - t0)
                        row["query"].append(t2 - t1)
                        row["query CPU"].append(used)
                        row["back"].append(t3 - t2)
                        row["loop CPU"].append(loop_cpu - used if side == "raw" else loop_cpu)
                    # in thousandths, printed like the times in ns: per query, one decimal
                    row["sleeps"].append((sleeps(*threads[side]) - before) * 1000 // len(queries))
        finally:
            await provider.cleanup()
    columns = list(rows["raw"])
    print(f"{n:,} chunks, k=5, {rounds} rounds of 20 queries; medians per query (times in "
          "us, sleeps a count)")
    print("  " + f"{'':7s}" + "".join(f"{c:>11s}" for c in columns))
    for side, row in rows.items():
        cells = "".join(f"{statistics.median(row[c]) / 1e3:11.1f}" if row[c] else f"{'-':>11s}"
                        for c in columns)
        print(f"  {side:7s}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--smoke", action="store_true", help="a little work (CI)")
    args = parser.parse_args()
    size, rounds = (200, 2) if args.smoke else (args.size, args.rounds)
    asyncio.run(measure(size, rounds))


if __name__ == "__main__":
    main()
