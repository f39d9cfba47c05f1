"""RAG fixtures: the chroma plugin from source, embedded and against a real server.

``chroma_config`` is parametrised over ``embedded`` (a folder under tmp_path) and
``server`` (a real ``chroma run`` process on a free 127.0.0.1 port, one per session),
so every test that uses ``rag`` or ``open_rag`` runs both ways. Each test gets its own
collection, so tests sharing the server stay apart.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.chroma import ChromaServer, start_server
from support.opening import provider_opener
from support.vectors import HashEmbeddings

from pepperpy.rag import RAGProvider
from pepperpy.registry import ProviderRegistry

OpenRAG = Callable[..., Awaitable[RAGProvider]]


@pytest.fixture
def registry(session_plugin_registry: ProviderRegistry) -> ProviderRegistry:
    """The one seam: chroma from its signed bundle, plus hash-based fake embeddings."""
    registry = ProviderRegistry(resolver=session_plugin_registry.resolver)
    registry.register("embeddings", "hash", HashEmbeddings)
    return registry


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = start_server(tmp_path_factory.mktemp("chroma-server") / "data")
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "server"])
def chroma_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    collection = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        return {"path": str(tmp_path / "chroma"), "collection": collection}
    server: ChromaServer = request.getfixturevalue("chroma_server")
    return {"host": server.host, "port": server.port, "collection": collection}


@pytest.fixture
async def open_rag(
    registry: ProviderRegistry, chroma_config: dict[str, Any]
) -> AsyncIterator[OpenRAG]:
    """Open another initialised chroma provider on the same store and collection."""
    async with provider_opener(registry, "rag", "chroma", chroma_config) as open_one:
        yield open_one


@pytest.fixture
async def rag(open_rag: OpenRAG) -> RAGProvider:
    return await open_rag()
