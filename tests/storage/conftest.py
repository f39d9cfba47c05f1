"""Storage fixtures: the sqlite and postgres plugins from source, one suite for both.

``storage_backend`` is parametrised over ``sqlite`` and ``postgres``, so every test that
uses ``storage`` or ``open_storage`` runs against both. PostgreSQL is a real throwaway
cluster (see ``support.postgres``); if its binaries are missing the tests fail with the
install command instead of skipping.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.opening import provider_opener
from support.postgres import PostgresCluster, start_cluster

from pepperpy.registry import ProviderRegistry
from pepperpy.storage import StorageProvider

OpenStorage = Callable[..., Awaitable[StorageProvider]]


@dataclass(frozen=True)
class Backend:
    name: str
    config: dict[str, Any]


@pytest.fixture
def registry(session_plugin_registry: ProviderRegistry) -> ProviderRegistry:
    """The one seam: both storage plugins from their signed bundles."""
    return session_plugin_registry


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    # fsync off: a test cluster need not survive a power cut, and tests run faster.
    cluster = start_cluster(settings={"fsync": "off"})
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def storage_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", {"path": str(tmp_path / "storage.sqlite3")})
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    table = f"t_{uuid.uuid4().hex[:16]}"  # a fresh table per test keeps tests apart
    return Backend("postgres", {"dsn": cluster.dsn(), "table": table})


@pytest.fixture
async def open_storage(
    registry: ProviderRegistry, storage_backend: Backend
) -> AsyncIterator[OpenStorage]:
    """Open another initialised provider on the same store (for reopen and concurrency)."""
    name, config = storage_backend.name, storage_backend.config
    async with provider_opener(registry, "storage", name, config) as open_one:
        yield open_one


@pytest.fixture
async def storage(open_storage: OpenStorage) -> StorageProvider:
    return await open_storage()
