"""Milvus specifics beyond the conformance suite: a changed embeddings model meets an
existing collection, filters are quoted, the collection persists across opens, a provider
opened before the collection existed sees it once another makes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.opening import provider_opener

from pepperpy.core import BadRequestError, ConfigurationError, ValidationError
from pepperpy.rag import Document
from pepperpy.registry import ProviderRegistry

DOCS = [Document("alpha", metadata={"lang": "en"}), Document("beta", metadata={"lang": "fr"})]
VECTORS = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
MORE = [Document("gamma"), Document("delta")]
MORE_VECTORS = [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]


async def test_another_dimension_names_collection_sizes_and_fix(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db"), "collection": "kb"}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        first = await open_one()
        await first.add(DOCS, VECTORS)
        await first.cleanup()
        reopened = await open_one()  # the dimension comes from the stored collection
        assert await reopened.count() == 2
        for call in (reopened.add([Document("short")], [[1.0, 0.0]]),
                     reopened.search([1.0, 0.0])):
            with pytest.raises(BadRequestError) as raised:
                await call
            message = str(raised.value)
            assert "'kb'" in message and "4-dimension" in message and "gives 2" in message
            assert "collection=" in message and "re-index" in message
        assert await reopened.count() == 2  # nothing was written


async def test_filter_values_are_quoted_not_pasted(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db")}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        store = await open_one()
        await store.add(DOCS, VECTORS)
        injected = 'x" or metadata["lang"] == "en'
        assert await store.search(VECTORS[0], where={"lang": injected}) == []
        assert await store.ids({"lang": injected}) == []
        assert await store.ids({"lang": "fr"}) == [DOCS[1].id]
        with pytest.raises(ValidationError, match="filter key"):
            await store.ids({"$or": "x"})


async def test_other_distance_and_bad_uri_are_refused(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db")}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        store = await open_one()
        await store.add(DOCS, VECTORS)
        await store.cleanup()
        with pytest.raises(ConfigurationError, match="distance 'cosine'"):
            await open_one(distance="l2")
        with pytest.raises(ConfigurationError, match=r"ending in \.db"):
            await open_one(uri=str(tmp_path / "store.sqlite"))


async def test_a_provider_opened_before_the_collection_sees_another_s_first_add(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db"), "collection": "kb"}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        reader, writer, late = await open_one(), await open_one(), await open_one()
        assert await reader.search(VECTORS[0]) == [] and await reader.count() == 0
        _, early = await asyncio.gather(writer.add(DOCS, VECTORS), reader.search(VECTORS[0]))
        assert [r.document for r in early] in ([], DOCS)  # before or after: never an error
        assert [r.document for r in await reader.search(VECTORS[0], k=2)] == DOCS
        assert await reader.count() == 2
        assert await reader.ids({"lang": "fr"}) == [DOCS[1].id]
        assert await reader.get([DOCS[0].id]) == DOCS[:1]
        await reader.delete([DOCS[0].id])
        assert await writer.count() == 1
        # a first add onto the collection another made adds to it, it does not re-create it
        await late.add(MORE[:1], MORE_VECTORS[:1])
        assert await writer.count() == await late.count() == 2
        with pytest.raises(BadRequestError, match="4-dimension"):
            await (await open_one()).add(MORE[1:], [[1.0, 0.0]])  # checked against the found one
        assert await writer.count() == 2


async def test_two_first_adds_at_once_both_land(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db"), "collection": "kb"}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        for round_ in range(3):  # the race goes either way; each round is a new collection
            name = f"kb{round_}"
            one, two, three = [await open_one(collection=name) for _ in range(3)]
            await asyncio.gather(one.add(DOCS, VECTORS), two.add(MORE, MORE_VECTORS),
                                 three.search(VECTORS[0]))
            assert await one.count() == await two.count() == await three.count() == 4
            hits = await three.search(MORE_VECTORS[1], k=1)
            assert [h.document for h in hits] == MORE[1:]


async def test_a_collection_made_with_another_distance_is_refused_at_first_sight(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    config = {"uri": str(tmp_path / "m.db"), "collection": "kb"}
    async with provider_opener(registry, "rag", "milvus", config) as open_one:
        early = await open_one(distance="l2")
        await (await open_one()).add(DOCS, VECTORS)
        for call in (early.search(VECTORS[0]), early.count(), early.add(MORE, MORE_VECTORS),
                     early.search(VECTORS[0])):  # refused each time: never kept
            with pytest.raises(ConfigurationError, match="distance 'cosine'"):
                await call
        assert await (await open_one()).count() == 2
