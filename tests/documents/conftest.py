"""Documents fixtures: the repo's signed plugins (loaders, local embeddings, stores)
and a PepperPy over them, on each vector store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy import PepperPy

STORES = ("chroma", "milvus")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_app(session_plugin_registry, tmp_path: Path, store: str) -> Callable[..., PepperPy]:
    """A PepperPy factory: local embeddings and ``store``, one collection per test."""
    collection = f"docs_{uuid.uuid4().hex[:10]}"

    def make(**options: object) -> PepperPy:
        return (
            PepperPy(registry=session_plugin_registry, data_dir=tmp_path / "data")
            .with_embeddings("local")
            .with_rag(store, **{"collection": collection, **options})
        )

    return make
