"""What differs between chroma's embedded and server modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


async def _quick_store(registry: ProviderRegistry, folder: Path) -> Any:
    """An embedded store with 40 chunks whose searches run on the loop's thread once
    timed (a 100 ms budget), after one search timed on the worker."""
    provider: Any = registry.create("rag", "chroma", {"path": str(folder),
                                                      "inline_search_ms": 100})
    await provider.initialize()
    docs = [Document(f"text {i}", id=f"d{i}", metadata={"even": i % 2 == 0})
            for i in range(40)]
    await provider.add(docs, [unit([1, i, 2]) for i in range(40)])
    assert (await _ticks_to_search(provider, unit([1, 3, 2])))[0] >= 2
    assert await _ticks_to_search(provider, unit([1, 3, 2])) == (1, "d3")
    return provider


async def test_only_a_search_no_bigger_than_the_one_timed_runs_on_the_loop(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """A quick search with k=2 says nothing of one asking for every chunk, or of one
    filtered by metadata (chroma reads the matches from SQLite first): those run on the
    worker, where they are timed; a smaller k with the same filter runs on the loop."""
    import asyncio

    provider = await _quick_store(registry, tmp_path / "store")
    try:
        async def ticks(**options: Any) -> int:
            search = asyncio.ensure_future(provider.search(unit([1, 3, 2]), **options))
            turns = 0
            while not search.done():
                turns += 1
                await asyncio.sleep(0)
            assert search.result()  # an answer, never the worker's BUSY marker
            return turns

        assert await ticks(k=40) >= 2
        assert await ticks(k=40) == 1  # timed quick with k=40: k=40 and below are quick
        assert await ticks(k=3) == 1
        assert await ticks(k=40) >= 2  # the last quick one had k=3
        assert await ticks(k=2, where={"even": True}) >= 2
        assert await ticks(k=2, where={"even": True}) == 1
        assert await ticks(k=2, where={"even": False}) >= 2
        assert await ticks(k=2) >= 2
    finally:
        await provider.cleanup()


async def test_a_search_that_failed_never_marks_the_next_as_quick(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """A search chroma refuses (a vector of the wrong length) is no timing of a search:
    refused in no time on the worker, it leaves the next one there; refused on the
    loop's thread (chroma may have taken long to refuse), it sends the next one there."""
    import asyncio

    provider = await _quick_store(registry, tmp_path / "store")
    try:
        # A vector of another length than the one timed is no search of its size (a
        # hostile embeddings server's million floats would hold the loop as chroma reads
        # them): it goes to the worker, and is refused there.
        search = asyncio.ensure_future(provider.search([0.5] * 1000, k=2))
        await asyncio.sleep(0)
        assert not search.done()
        with pytest.raises(BadRequestError, match="dimension"):
            await search
        await provider.add([Document("new", id="new")], [unit([-1, 0, 0])])
        with pytest.raises(BadRequestError, match="dimension"):
            await provider.search([1.0, 0.0], k=2)  # on the worker, refused in no time
        ticks, found = await _ticks_to_search(provider, unit([-1, 0, 0]))
        assert ticks >= 2 and found == "new"
        assert await _ticks_to_search(provider, unit([-1, 0, 0])) == (1, "new")
        with pytest.raises(BadRequestError, match="dimension"):
            await provider.search([1.0, 0.0], k=2)  # on the loop's thread
        ticks, found = await _ticks_to_search(provider, unit([-1, 0, 0]))
        assert ticks >= 2 and found == "new"
    finally:
        await provider.cleanup()


async def test_the_first_search_after_reopening_is_timed_on_the_worker(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """A store opened again (cleanup, then initialize) loads its index on its first
    search: that search goes to the worker, whatever the last session timed."""
    provider = await _quick_store(registry, tmp_path / "store")
    await provider.cleanup()
    await provider.initialize()
    try:
        ticks, found = await _ticks_to_search(provider, unit([1, 3, 2]))
        assert ticks >= 2 and found == "d3"
    finally:
        await provider.cleanup()


async def test_a_search_timed_while_a_write_waits_never_marks_the_next_as_quick(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """A search on the worker that finishes after an add was called (the add queued
    behind it) timed the store before the add: the search after the add is timed again,
    on the worker."""
    import asyncio
    import threading

    provider = await _quick_store(registry, tmp_path / "store")
    release = threading.Event()
    try:
        await provider.delete(["d0"])  # the next search is timed on the worker
        held = asyncio.ensure_future(provider._worker.call(release.wait, 10))
        before = asyncio.ensure_future(provider.search(unit([1, 3, 2]), k=2))
        add = asyncio.ensure_future(provider.add([Document("new", id="new")],
                                                 [unit([-1, 0, 0])]))
        await asyncio.sleep(0)  # all three queued on the worker, in this order
        release.set()
        await asyncio.gather(held, before, add)
        ticks, found = await _ticks_to_search(provider, unit([-1, 0, 0]))
        assert ticks >= 2 and found == "new"
    finally:
        release.set()
        await provider.cleanup()


async def test_a_quick_search_called_while_a_write_is_queued_waits_for_it(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """The last search was quick, but an add is queued on the worker: the search goes
    to the worker behind it (never ahead of it on the loop) and finds what it added."""
    import asyncio
    import threading

    provider = await _quick_store(registry, tmp_path / "store")
    release = threading.Event()
    try:
        held = asyncio.ensure_future(provider._worker.call(release.wait, 10))
        add = asyncio.ensure_future(provider.add([Document("new", id="new")],
                                                 [unit([-1, 0, 0])]))
        await asyncio.sleep(0)
        search = asyncio.ensure_future(provider.search(unit([-1, 0, 0]), k=1))
        await asyncio.sleep(0)
        assert not search.done()
        release.set()
        await asyncio.gather(held, add)
        assert [found.document.id for found in await search] == ["new"]
    finally:
        release.set()
        await provider.cleanup()


async def test_inline_search_ms_is_checked_when_the_provider_is_built_directly(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    """The constructor holds the bounds the schema states (a budget of seconds would let
    every search hold the loop that long); NaN passes a schema's bounds, not these."""
    chroma = registry.load("rag", "chroma").provider_class
    for bad in ("5", True, -1, 100.5, 1e9, float("inf"), float("nan"), None):
        with pytest.raises(ValidationError, match="inline_search_ms"):
            chroma(path=str(tmp_path), inline_search_ms=bad)
    with pytest.raises(ValidationError, match="inline_search_ms"):
        registry.create("rag", "chroma", {"path": str(tmp_path),
                                          "inline_search_ms": float("nan")})
    assert chroma(path=str(tmp_path), inline_search_ms=0) is not None
    assert chroma(path=str(tmp_path), inline_search_ms=100) is not None
