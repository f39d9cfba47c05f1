"""Chroma behaviour beyond the conformance suite (test_chroma_conformance.py runs that):
exact cosine scores, distances, bulk adds, reopening, dimension and input errors;
embedded and against a real server."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import Any

import pytest
from support.vectors import hash_vector, unit

from pepperpy.core import BadRequestError, ConfigurationError, ValidationError
from pepperpy.rag import Document, RAGProvider
from pepperpy.registry import ProviderRegistry

OpenRAG = Callable[..., Awaitable[RAGProvider]]

# Four documents on hand-made 4-d vectors: the geometry makes the expected order obvious.
DOCS = [
    Document("Paris is the capital of France.", metadata={"lang": "en", "topic": "geo", "n": 1}),
    Document("Berlin is the capital of Germany.", metadata={"lang": "en", "topic": "geo", "n": 2}),
    Document("Le chat dort sur le canapé.", metadata={"lang": "fr", "topic": "pets", "n": 3}),
    Document("Dogs like long walks.", metadata={"lang": "en", "topic": "pets", "top": True}),
]
VECTORS = [
    unit([1, 0, 0, 0]),
    unit([0.8, 0.6, 0, 0]),
    unit([0, 0, 1, 0]),
    unit([0, 0, 0.6, 0.8]),
]


async def test_search_orders_by_similarity_with_cosine_scores(rag: RAGProvider) -> None:
    await rag.add(DOCS, VECTORS)
    query = unit([1, 0.1, 0.05, 0])
    results = await rag.search(query, k=3)
    assert [r.document.id for r in results] == [DOCS[0].id, DOCS[1].id, DOCS[2].id]
    expected = [sum(q * v for q, v in zip(query, VECTORS[i], strict=True)) for i in range(3)]
    for result, cosine in zip(results, expected, strict=True):
        assert math.isclose(result.score, cosine, abs_tol=1e-4)
    assert results[0].document == DOCS[0]  # text and metadata come back intact


async def test_documents_without_metadata_round_trip(rag: RAGProvider) -> None:
    plain = Document("no metadata at all")
    await rag.add([plain], [hash_vector(plain.text, 4)])
    assert await rag.get([plain.id]) == [plain]
    (hit,) = await rag.search(hash_vector(plain.text, 4), k=1)
    assert hit.document == plain and math.isclose(hit.score, 1.0, abs_tol=1e-4)


async def test_many_documents_in_one_add(rag: RAGProvider) -> None:
    docs = [Document(f"document number {i}", metadata={"i": i}) for i in range(600)]
    await rag.add(docs, [hash_vector(d.text, 8) for d in docs])
    assert await rag.count() == 600
    (hit,) = await rag.search(hash_vector("document number 417", 8), k=1)
    assert hit.document.metadata == {"i": 417}


async def test_data_survives_reopen(open_rag: OpenRAG) -> None:
    first = await open_rag()
    await first.add(DOCS, VECTORS)
    await first.cleanup()
    second = await open_rag()
    assert await second.count() == 4
    (hit,) = await second.search(VECTORS[2], k=1)
    assert hit.document == DOCS[2]


async def test_wrong_dimension_is_a_bad_request(rag: RAGProvider) -> None:
    await rag.add(DOCS, VECTORS)
    with pytest.raises(BadRequestError, match="dimension") as raised:
        await rag.add([Document("short vector")], [[1.0, 0.0]])
    message = str(raised.value)  # names the collection, both sizes and the fix
    assert rag.config["collection"] in message and "4-dimension" in message
    assert "gives 2" in message and "collection=" in message and "re-index" in message
    with pytest.raises(BadRequestError, match="4-dimension"):
        await rag.search([1.0, 0.0])


async def test_mismatched_lengths_and_bad_k_are_refused(rag: RAGProvider) -> None:
    with pytest.raises(ValidationError, match="2 documents but 1 embeddings"):
        await rag.add(DOCS[:2], VECTORS[:1])
    with pytest.raises(ValidationError, match="k must be"):
        await rag.search(VECTORS[0], k=0)
    with pytest.raises(ValidationError, match="filter value"):
        await rag.search(VECTORS[0], where={"lang": ["en"]})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("distance", "expected"),
    [("l2", 1 / (1 + 2 - 2 * 0.8)), ("ip", 0.8), ("cosine", 0.8)],
)
async def test_scores_for_each_distance(open_rag: OpenRAG, distance: str, expected: float) -> None:
    rag = await open_rag(distance=distance, collection=f"dist-{distance}-x")
    await rag.add(DOCS[:2], VECTORS[:2])
    results = await rag.search(VECTORS[0], k=2)
    assert math.isclose(results[0].score, 1.0, abs_tol=1e-4)
    assert math.isclose(results[1].score, expected, abs_tol=1e-4)


async def test_an_existing_collection_keeps_its_distance(open_rag: OpenRAG) -> None:
    early = await open_rag(collection="fixed-distance", distance="l2")  # before it exists
    first = await open_rag(collection="fixed-distance", distance="cosine")
    await first.add(DOCS[:1], VECTORS[:1])  # the first add makes it, with cosine
    with pytest.raises(ConfigurationError, match="distance 'cosine'"):
        await open_rag(collection="fixed-distance", distance="l2")
    with pytest.raises(ConfigurationError, match="distance 'cosine'"):  # found at its next use
        await early.search(VECTORS[0])


def _collections(config: dict[str, Any]) -> set[str]:
    """The store's collection names, read past the provider (its sqlite file, or HTTP)."""
    if "path" in config:
        url = f"file:{config['path']}/chroma.sqlite3?mode=ro"
        with closing(sqlite3.connect(url, uri=True)) as db:
            return {name for (name,) in db.execute("SELECT name FROM collections")}
    import chromadb

    client = chromadb.HttpClient(host=config["host"], port=config["port"])
    return {c.name for c in client.list_collections()}


async def test_only_the_first_add_makes_the_collection(
    open_rag: OpenRAG, chroma_config: dict[str, Any]
) -> None:
    rag = await open_rag()
    name = chroma_config["collection"]
    assert await rag.search(VECTORS[0], k=2) == []
    assert await rag.search(VECTORS[0], where={"lang": "en"}) == []
    assert await rag.count() == 0
    assert await rag.ids({"lang": "en"}) == []
    assert await rag.get([DOCS[0].id]) == []
    await rag.delete([DOCS[0].id])
    assert await rag.add([], []) == []
    assert name not in _collections(chroma_config)  # a mistyped name leaves nothing behind
    await rag.add(DOCS[:1], VECTORS[:1])
    assert name in _collections(chroma_config)
    assert [r.document for r in await rag.search(VECTORS[0], k=2)] == DOCS[:1]


async def test_a_provider_opened_before_the_collection_sees_another_s_first_add(
    open_rag: OpenRAG, chroma_config: dict[str, Any]
) -> None:
    reader, writer, other = await open_rag(), await open_rag(), await open_rag()
    _, early = await asyncio.gather(writer.add(DOCS[:2], VECTORS[:2]), reader.search(VECTORS[0]))
    assert [r.document for r in early] in ([], DOCS[:2])  # before or after: never an error
    assert [r.document for r in await reader.search(VECTORS[0], k=2)] == DOCS[:2]
    assert await reader.count() == 2
    # two first adds at once, from providers that each found no collection
    late = await open_rag(collection=chroma_config["collection"] + "-race")
    again = await open_rag(collection=chroma_config["collection"] + "-race")
    await asyncio.gather(late.add(DOCS[2:3], VECTORS[2:3]), again.add(DOCS[3:], VECTORS[3:]))
    assert await late.count() == await again.count() == 2
    assert await other.count() == 2


async def test_pepperpy_fluent_api_adds_and_searches_texts(
    registry: ProviderRegistry, chroma_config: dict[str, Any], tmp_path: Any
) -> None:
    from pepperpy.pepperpy import PepperPy

    texts = ["The Eiffel tower is in Paris.", "Photosynthesis needs light."]
    pepper = (
        PepperPy(registry=registry, data_dir=tmp_path)
        .with_embeddings("hash")
        .with_rag("chroma", **chroma_config)
    )
    async with pepper:
        ids = await pepper.rag.add_texts(texts, source="facts")
        assert await pepper.rag.add_texts(texts, source="facts") == ids  # idempotent
        assert await pepper.rag.count() == 2
        (hit,) = await pepper.rag.search(texts[1], k=1)
        assert hit.document.text == texts[1]
        assert hit.document.metadata["source"] == "facts"
        assert math.isclose(hit.score, 1.0, abs_tol=1e-4)
        shared = await pepper.rag.search(texts[1], k=3, where={"source": "facts"})
        assert sorted(h.document.text for h in shared) == sorted(texts)
