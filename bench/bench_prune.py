"""The listing a prune makes, at 50,000 chunks in embedded chroma: every chunk read
back vs only those of files the add did not just read.

    .venv/bin/python bench/bench_prune.py [--chunks 50000] [--files 500] [--rounds 3] [--smoke]

One collection holds ``--chunks`` chunks of ``--files`` files (synthetic 384-d vectors,
100-word texts, the ``path``/``source``/``chunk`` metadata ``add_files`` writes), the
chroma plugin as PepperPy loads it. One file is "gone". Each round, in alternating
order, times ``rag_remove._stored`` as a prune before this change ran it (``ids({})``,
then ``get`` of every id in batches of 1,000) and as it runs after an add now (the same
listing of ids, with the ids of the files the add read left out of the ``get``). It
prints wall and CPU time of each and the ratio (median, min..max); the first listing
after opening the store (cold pages) is printed on its own. ``--smoke``: 2,000 chunks.
A script, not a test: it prints numbers and exits 0.
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

from bench_rag_storage import _vectors  # noqa: E402
from support.plugins import register_source_plugins  # noqa: E402

from pepperpy import rag_remove  # noqa: E402
from pepperpy.rag import Document, RAGProvider  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402


async def _timed(store: RAGProvider, known: frozenset[str]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    found = await rag_remove._stored(store, known)
    return time.perf_counter() - wall, time.process_time() - cpu, len(found)


async def main(chunks: int, files: int, rounds: int) -> None:
    registry = register_source_plugins(ProviderRegistry(), "rag_chroma_provider")
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-prune-") as tmp:
        store = registry.create("rag", "chroma", {"path": tmp, "collection": "bench"})
        assert isinstance(store, RAGProvider)
        await store.initialize()
        vectors = _vectors(1000, random.Random(1))
        for start in range(0, chunks, 1000):
            docs = [Document(f"word{i} " * 100, id=f"id{i}",
                             metadata={"path": f"/data/docs/d{i % 10}/f{i % files}.md",
                                       "source": f"f{i % files}.md", "chunk": i // files})
                    for i in range(start, min(chunks, start + 1000))]
            await store.add(docs, vectors[:len(docs)])
        gone = set(await store.ids({"path": "/data/docs/d1/f1.md"}) or [])
        present = frozenset(set(await store.ids({}) or []) - gone)
        wall, cpu, n = await _timed(store, frozenset())
        print(f"{chunks} chunks, {files} files; first listing after opening (every chunk "
              f"read): {wall:.2f}s wall, {cpu:.2f}s CPU, {n} paths")
        ratios, cpu_ratios = [], []
        for r in range(rounds):
            sides = [("all", frozenset()), ("present left out", present)]
            timed = {}
            for label, known in (sides if r % 2 == 0 else sides[::-1]):
                timed[label] = await _timed(store, known)
            (aw, ac, an), (pw, pc, pn) = timed["all"], timed["present left out"]
            assert (an, pn) == (files, 1)
            ratios.append(pw / aw)
            cpu_ratios.append(pc / ac)
            print(f"round {r + 1}: every chunk read {aw:.2f}s ({ac:.2f}s CPU); present "
                  f"left out {pw:.3f}s ({pc:.3f}s CPU)")
        print(f"prune listing, present left out / every chunk read: wall "
              f"{statistics.median(ratios):.3f}x ({min(ratios):.3f}..{max(ratios):.3f}), "
              f"CPU {statistics.median(cpu_ratios):.3f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.chunks, args.files, args.rounds = 2000, 50, 2
    asyncio.run(main(args.chunks, args.files, args.rounds))
