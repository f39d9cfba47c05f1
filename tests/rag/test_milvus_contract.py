"""Milvus specifics beyond the conformance suite: a changed embeddings model meets an
existing collection, filters are quoted, the collection persists across opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.opening import provider_opener

from pepperpy.core import BadRequestError, ConfigurationError, ValidationError
from pepperpy.rag import Document
from pepperpy.registry import ProviderRegistry

DOCS = [Document("alpha", metadata={"lang": "en"}), Document("beta", metadata={"lang": "fr"})]
VECTORS = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]


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
