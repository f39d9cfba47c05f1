"""Fixtures: a publisher, its index served on loopback, a fresh PEPPERPY_HOME per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher


@pytest.fixture
def publisher(tmp_path: Path) -> Publisher:
    from pepperpy.bundle.keys import generate_key
    from pepperpy_testing.bundles import BundleFactory

    keys = tmp_path / "keys"
    repo_key = generate_key(publisher="index", out_dir=keys).private_path
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    return Publisher(tmp_path / "repo", BundleFactory(publisher="acme"), repo_key, bundles)


@pytest.fixture
def server(publisher: Publisher) -> Iterator[IndexServer]:
    publisher.folder.mkdir(parents=True, exist_ok=True)
    srv = IndexServer(publisher.folder)
    yield srv
    srv.close()


@pytest.fixture
def home(tmp_path: Path, publisher: Publisher, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PEPPERPY_HOME that trusts the publisher's bundle key, in the environment."""
    home = tmp_path / "home"
    publisher.factory.trust(home)  # type: ignore[attr-defined]
    monkeypatch.setenv("PEPPERPY_HOME", str(home))
    monkeypatch.setenv("PEPPERPY_CHECKOUT_PLUGINS", "0")
    monkeypatch.setenv("PEPPERPY_AUTO_INSTALL", "0")
    monkeypatch.delenv("PEPPERPY_PLUGIN_PATH", raising=False)
    monkeypatch.delenv("PEPPERPY_AUTO_FETCH", raising=False)
    monkeypatch.setenv("PEPPERPY_INDEX_TIMEOUT", "2")
    return home
