"""The chroma plugin vs raw chromadb at 2,000 and 50,000 chunks: adds and query latency.

    .venv/bin/python bench/bench_chroma.py [--smoke] [--sizes 2000,50000]

The same random 384-d unit vectors go into two embedded stores in the same run: raw
chromadb (``collection.upsert`` in its maximum batch size) and the chroma plugin's
provider as PepperPy loads it (``add``). Queries then compare ``search`` with k=5
against raw ``collection.query`` called directly on the same store (blocking the event
loop: the fastest anyone can call it). Adds alternate which side goes first per round,
in fresh folders; queries run in interleaved blocks of 20. Each line prints PepperPy's
time over raw chromadb's (median of per-round ratios, min..max), and for adds the same
ratio of CPU time (the process's, chroma's own threads included: steadier than wall
time, which an add's disk writes make vary by 10-20% from round to round). Target:
<= 1.05x. Rounds are even by default, so each side goes first equally often.
The plugin runs with its defaults: a search no bigger than the last one that answered
within ``inline_search_ms`` (5 ms) runs on the event loop's thread, as the raw call does.
``--inline-search-ms 0`` sends every search through the worker thread (the path before
the tenth round), for a reference read in a separate run: a second provider on the same
store in the same run changes how both sides read. The query line also gives the event
loop thread's own CPU time per search (the query itself when it runs there; the plugin's
side of the hop when it runs on the worker): a count that moves far less with the
machine's load than the wall-time ratio.
``--smoke``: 200 chunks, 20 queries, two rounds (the test suite runs that).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_rag_storage import RawChroma, _vectors  # noqa: E402
from support.plugins import register_source_plugins  # noqa: E402

from pepperpy.rag import Document, RAGProvider  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402


async def one_size(n: int, n_queries: int, rounds: int, registry: ProviderRegistry,
                   inline_ms: float | None) -> None:
    rng = random.Random(n)
    texts = [f"chunk {i}: " + " ".join(rng.choice("abcdefgh") * 3 for _ in range(12))
             for i in range(n)]
    vecs = _vectors(n, rng)
    queries = _vectors(n_queries, rng)
    docs = [Document(t, id=f"id{i}", metadata={"i": i}) for i, t in enumerate(texts)]
    add_ratios, query_ratios, add_cpu_ratios = [], [], []
    add_raw, query_raw, add_ours, query_ours, loop_cpu = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-chroma-") as tmp:
        for r in range(rounds):
            raw = RawChroma(Path(tmp, f"raw{r}"))
            config: dict[str, object] = {"path": str(Path(tmp, f"ours{r}")),
                                         "collection": "bench"}
            if inline_ms is not None:
                config["inline_search_ms"] = inline_ms
            provider = registry.create("rag", "chroma", config)
            assert isinstance(provider, RAGProvider)
            await provider.initialize()
            try:
                timed: dict[str, float] = {}
                cpu: dict[str, float] = {}
                for side in (("raw", "ours") if r % 2 == 0 else ("ours", "raw")):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    if side == "raw":
                        raw.add(texts, vecs)
                    else:
                        await provider.add(docs, vecs)
                    timed[side] = time.perf_counter() - start
                    cpu[side] = time.process_time() - start_cpu
                add_raw.append(timed["raw"])
                add_ours.append(timed["ours"])
                add_ratios.append(timed["ours"] / timed["raw"])
                add_cpu_ratios.append(cpu["ours"] / cpu["raw"])
                # Queries: raw chromadb asks the plugin's own store (a second client on
                # the same folder shares chroma's in-process system), so both sides
                # search the same HNSW index: two indexes built from the same vectors
                # answer 5-30% apart, which would swamp the plugin's cost.
                same = RawChroma(Path(tmp, f"ours{r}"))
                for q in queries[:10]:  # warm both (HNSW index loaded, caches)
                    same.query(q)
                    await provider.search(q, k=5)
                spent = {"raw": 0.0, "ours": 0.0}
                ours_cpu = 0.0
                for s in range(0, n_queries, 20):
                    block = queries[s:s + 20]
                    for side in (("raw", "ours") if (s // 20) % 2 == 0 else ("ours", "raw")):
                        start = time.perf_counter()
                        if side == "raw":
                            for q in block:
                                same.query(q)
                        else:
                            start_cpu = time.thread_time()
                            for q in block:
                                await provider.search(q, k=5)
                            ours_cpu += time.thread_time() - start_cpu
                        spent[side] += time.perf_counter() - start
                query_raw.append(spent["raw"] / n_queries)
                query_ours.append(spent["ours"] / n_queries)
                query_ratios.append(spent["ours"] / spent["raw"])
                loop_cpu.append(ours_cpu / n_queries)
            finally:
                raw.client.close()
                await provider.cleanup()
    print(f"{n:,} chunks x 384-d, {n_queries} queries (k=5), {rounds} rounds")
    print(f"  add    raw {statistics.median(add_raw):8.3f} s   pepperpy "
          f"{statistics.median(add_ours):8.3f} s   ratio {statistics.median(add_ratios):.3f} "
          f"({min(add_ratios):.3f}..{max(add_ratios):.3f}, target <= 1.05); CPU ratio "
          f"{statistics.median(add_cpu_ratios):.3f} ({min(add_cpu_ratios):.3f}.."
          f"{max(add_cpu_ratios):.3f})")
    print(f"  query  raw {statistics.median(query_raw) * 1e6:8.0f} us  pepperpy "
          f"{statistics.median(query_ours) * 1e6:8.0f} us  ratio "
          f"{statistics.median(query_ratios):.3f} ({min(query_ratios):.3f}.."
          f"{max(query_ratios):.3f}, target <= 1.05); the loop thread's CPU per search "
          f"{statistics.median(loop_cpu) * 1e6:.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,50000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--inline-search-ms", type=float, default=None,
                        help="the plugin's inline_search_ms (default: its own, 5)")
    parser.add_argument("--smoke", action="store_true", help="a little work (CI)")
    args = parser.parse_args()
    sizes = [200] if args.smoke else [int(s) for s in args.sizes.split(",")]
    queries, rounds = (20, 2) if args.smoke else (args.queries, args.rounds)
    registry = register_source_plugins(ProviderRegistry(), "rag_chroma_provider")
    for n in sizes:
        asyncio.run(one_size(n, queries, rounds, registry, args.inline_search_ms))


if __name__ == "__main__":
    main()
