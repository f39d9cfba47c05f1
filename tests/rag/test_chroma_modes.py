"""What differs between chroma's embedded and server modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.chroma import start_server
from support.postgres import free_port
from support.vectors import unit

from pepperpy.core import BadRequestError, ServerError, ValidationError
from pepperpy.rag import Document, RAGProvider
from pepperpy.registry import ProviderRegistry


@pytest.mark.filterwarnings("ignore:legacy embedding function config:DeprecationWarning")
async def test_embedded_store_defaults_to_the_data_folder_without_an_embedding_model(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    import chromadb
    from chromadb.config import Settings

    from pepperpy.pepperpy import PepperPy

    pepper = (
        PepperPy(registry=registry, data_dir=tmp_path / "app")
        .with_embeddings("hash")
        .with_rag("chroma")
    )
    async with pepper:
        await pepper.rag.add_texts(["stored under the data folder"])
    folder = tmp_path / "app" / "chroma"
    assert folder.is_dir()
    client = chromadb.PersistentClient(str(folder), Settings(anonymized_telemetry=False))
    try:
        collection = client.get_collection("pepperpy", embedding_function=None)
        assert collection.count() == 1
        # Chroma's default embedding function downloads a model: it must never be set.
        assert collection.configuration.get("embedding_function") is None
    finally:
        client.close()


async def test_server_data_survives_a_server_restart(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    data = tmp_path / "server-data"
    doc = Document("kept across restarts", metadata={"k": "v"})
    server = start_server(data)
    try:
        provider = registry.create("rag", "chroma", {"host": server.host, "port": server.port})
        assert isinstance(provider, RAGProvider)
        await provider.initialize()
        await provider.add([doc], [unit([1, 2, 3])])
        await provider.cleanup()
    finally:
        server.stop()
    server = start_server(data)
    try:
        provider = registry.create("rag", "chroma", {"host": server.host, "port": server.port})
        await provider.initialize()
        try:
            assert await provider.get([doc.id]) == [doc]
        finally:
            await provider.cleanup()
    finally:
        server.stop()


async def test_unreachable_server_is_a_server_error(registry: ProviderRegistry) -> None:
    provider = registry.create("rag", "chroma", {"host": "127.0.0.1", "port": free_port()})
    with pytest.raises(ServerError, match="chroma run"):
        await provider.initialize()


def test_host_without_port_is_refused(registry: ProviderRegistry) -> None:
    with pytest.raises(ValidationError, match="both host"):
        registry.create("rag", "chroma", {"host": "127.0.0.1"})


def test_unknown_distance_is_refused(registry: ProviderRegistry, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="distance"):
        registry.create("rag", "chroma", {"path": str(tmp_path), "distance": "manhattan"})


async def _ticks_to_search(provider: RAGProvider, vector: list[float]) -> tuple[int, str]:
    """How many loop turns a search took, and the id it found first. A query run on the
    event loop's thread finishes in the search task's first step (one tick); one run on
    the worker thread needs later turns of the loop, which runs other tasks meanwhile."""
    import asyncio

    ticks = 0
    search = asyncio.ensure_future(provider.search(vector, k=2))
    while not search.done():
        ticks += 1
        await asyncio.sleep(0)
    return ticks, search.result()[0].document.id


async def test_embedded_queries_leave_the_event_loop_free_with_inline_searches_off(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """chromadb's embedded calls are synchronous; with ``inline_search_ms=0`` every one
    runs on the plugin's worker thread, and the loop runs other tasks until it answers."""
    provider = registry.create("rag", "chroma", {"path": str(tmp_path / "store"),
                                                 "inline_search_ms": 0})
    assert isinstance(provider, RAGProvider)
    await provider.initialize()
    try:
        docs = [Document(f"text {i}", id=f"d{i}") for i in range(20)]
        await provider.add(docs, [unit([1, i, 2]) for i in range(20)])
        for _ in range(4):
            ticks, found = await _ticks_to_search(provider, unit([1, 3, 2]))
            assert ticks >= 2
            assert found == "d3"
    finally:
        await provider.cleanup()


async def test_a_quick_search_runs_on_the_loop_and_a_write_sends_the_next_to_the_worker(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """By default a search whose previous search took under 5 ms runs on the loop's
    thread (no hop to the worker and back); after an add or a delete the next search
    is timed on the worker again, and every answer is the same either way."""
    provider = registry.create("rag", "chroma", {"path": str(tmp_path / "store"),
                                                 "inline_search_ms": 100})
    assert isinstance(provider, RAGProvider)
    await provider.initialize()
    try:
        docs = [Document(f"text {i}", id=f"d{i}") for i in range(20)]
        await provider.add(docs, [unit([1, i, 2]) for i in range(20)])
        ticks, found = await _ticks_to_search(provider, unit([1, 3, 2]))
        assert ticks >= 2 and found == "d3"
        assert await _ticks_to_search(provider, unit([1, 3, 2])) == (1, "d3")
        assert await _ticks_to_search(provider, unit([1, 3, 2])) == (1, "d3")
        await provider.add([Document("new", id="new")], [unit([1, 30, 2])])
        ticks, found = await _ticks_to_search(provider, unit([1, 30, 2]))
        assert ticks >= 2 and found == "new"
        assert await _ticks_to_search(provider, unit([1, 30, 2])) == (1, "new")
        await provider.delete(["new"])
        ticks, found = await _ticks_to_search(provider, unit([1, 30, 2]))
        assert ticks >= 2 and found == "d19"
        # chroma's error, raised on the loop's thread, is translated as on the worker
        with pytest.raises(BadRequestError, match="dimension"):
            await provider.search([1.0, 0.0], k=1)
        with pytest.raises(ValidationError, match="inline_search_ms"):
            registry.create("rag", "chroma", {"path": str(tmp_path / "other"),
                                              "inline_search_ms": -1})
    finally:
        await provider.cleanup()
