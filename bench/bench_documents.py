"""Benchmark: ingesting a PDF with ``pepper.rag.add_files`` vs doing it by hand.

Run: ``python bench/bench_documents.py [--pages 500] [--rounds 2] [--smoke]``
(``--smoke``: 20 pages, one round).

Both paths read the same PDF (one short paragraph a page, so each page is one chunk
either way), embed with the same local embeddings provider (all-MiniLM-L6-v2 int8)
and write into embedded chroma:
- by hand (the baseline): pypdf's ``extract_text`` page by page, ``embed`` in batches
  of 64, chromadb's ``collection.add`` with the page numbers as metadata;
- PepperPy: ``pepper.rag.add_files([pdf])`` with the signed pdf, local embeddings and
  chroma plugins (loader, structure-aware chunking, stable ids, batching, the store's
  dedup read). Target: <= 1.1x the baseline's time. Pages/s is printed for both.

A script, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _signed import signed_registry  # noqa: E402

from pepperpy.pepperpy import PepperPy  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402

TOPICS = ("harbour", "orchard", "railway", "library", "bakery", "festival", "museum",
          "ferry", "garden", "market")


def write_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for n in range(pages):
        topic = TOPICS[n % len(TOPICS)]
        pdf.add_page()
        pdf.multi_cell(0, 7, (
            f"Page {n + 1} of the town almanac covers the {topic}. In year {1900 + n} the "
            f"{topic} committee met {n % 12 + 1} times, spent {n * 37 % 1000} crowns and "
            f"recorded {n * 13 % 400} visitors. The minutes note the weather, the repairs "
            f"to the {topic} roof and a vote on opening hours, which passed by {n % 9 + 1} "
            "votes. The clerk asked that next year's report be printed earlier."))
    path.write_bytes(bytes(pdf.output()))


async def by_hand(pdf: Path, embedder: object, store: Path) -> float:
    import chromadb
    from chromadb.config import Settings
    from pypdf import PdfReader

    began = time.perf_counter()
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    texts = [(page.extract_text() or "").strip() for page in reader.pages]
    vectors: list[list[float]] = []
    for start in range(0, len(texts), 64):
        vectors += await embedder.embed(texts[start : start + 64])  # type: ignore[attr-defined]
    client = chromadb.PersistentClient(str(store), Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection(
        "hand", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    collection.add(ids=[f"{pdf.name}-{n}" for n in range(len(texts))], embeddings=vectors,
                   documents=texts,
                   metadatas=[{"source": pdf.name, "page": n + 1} for n in range(len(texts))])
    elapsed = time.perf_counter() - began
    client.close()
    return elapsed


async def with_pepperpy(pdf: Path, registry: ProviderRegistry, data: Path) -> tuple[float, int]:
    app = (PepperPy(registry=registry, data_dir=data).with_embeddings("local")
           .with_rag("chroma", collection="pepper"))
    async with app as pepper:
        await pepper._embedder()  # the model loads before the clock starts, as by hand
        await pepper._store()
        await pepper._document_loaders()
        began = time.perf_counter()
        ids = await pepper.rag.add_files([pdf])
        return time.perf_counter() - began, len(ids)


async def bench(pages: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pdf = work / "almanac.pdf"
        write_pdf(pdf, pages)
        registry = signed_registry(work / "signed", "documents_pdf_provider",
                                   "embeddings_local_provider", "rag_chroma_provider")
        embedder = registry.create("embeddings", "local", {})
        await embedder.initialize()
        hand: list[float] = []
        ours: list[float] = []
        chunks = 0
        for r in range(rounds):  # interleaved, best of each
            hand.append(await by_hand(pdf, embedder, work / f"hand-{r}"))
            took, chunks = await with_pepperpy(pdf, registry, work / f"pepper-{r}")
            ours.append(took)
        await embedder.cleanup()
    best_hand, best_ours = min(hand), min(ours)
    print(f"Ingesting a {pages}-page PDF ({chunks} chunks), best of {rounds}:")
    print(f"  by hand (pypdf + embed + collection.add): {best_hand:7.2f}s  "
          f"{pages / best_hand:7.1f} pages/s")
    print(f"  pepper.rag.add_files:                     {best_ours:7.2f}s  "
          f"{pages / best_ours:7.1f} pages/s")
    print(f"  ratio: {best_ours / best_hand:.2f}x the baseline's time (target <= 1.1x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="20 pages, one round")
    args = parser.parse_args()
    if args.smoke:
        args.pages, args.rounds = 20, 1
    asyncio.run(bench(args.pages, args.rounds))


if __name__ == "__main__":
    main()
