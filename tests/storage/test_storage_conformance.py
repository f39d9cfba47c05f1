"""The storage plugins against the conformance suite: sqlite in the test's folder, and
a real PostgreSQL server (a fresh table per test)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.postgres import PostgresCluster

from pepperpy_testing.conformance import StorageConformance
from tests.conftest import PLUGIN_SRC


class TestSQLiteConformance(StorageConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "storage.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
        "storage.errors.secrets_hidden": "its options hold no credential",
    }
    plugin = PLUGIN_SRC / "storage_sqlite_provider"  # data_dir: a fresh folder per test


class TestPostgresConformance(StorageConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "storage.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
    }
    plugin = PLUGIN_SRC / "storage_postgres_provider"

    @pytest.fixture(autouse=True)
    def _cluster(self, postgres_cluster: PostgresCluster) -> None:
        self.cluster = postgres_cluster

    def provider_config(self, workdir: Path) -> dict[str, Any]:
        return {"dsn": self.cluster.dsn(), "table": f"t_{uuid.uuid4().hex[:16]}"}
