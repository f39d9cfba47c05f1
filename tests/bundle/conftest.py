"""Shared fixtures for the bundle tests: a trusted factory, a stranger, a marker plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy_testing.bundles import BundleFactory, marker_plugin_files


@pytest.fixture(scope="session")
def factory() -> BundleFactory:
    return BundleFactory(publisher="trusted-pub")


@pytest.fixture(scope="session")
def stranger() -> BundleFactory:
    return BundleFactory(publisher="stranger")


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "MARKER_imported"


@pytest.fixture
def marker_files(marker: Path) -> dict[str, bytes]:
    return marker_plugin_files(marker)
