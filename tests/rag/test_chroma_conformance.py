"""The chroma plugin against the conformance suite, embedded (in the test's folder)
and against a real ``chroma run`` server (a fresh collection per test)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.chroma import ChromaServer

from pepperpy_testing.conformance import RAGConformance
from tests.conftest import PLUGIN_SRC


class TestChromaEmbeddedConformance(RAGConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "rag.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
        "rag.errors.secrets_hidden": "its options hold no credential",
    }
    plugin = PLUGIN_SRC / "rag_chroma_provider"  # data_dir: a fresh folder per test


class TestChromaServerConformance(RAGConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "rag.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
        "rag.errors.secrets_hidden": "its options hold no credential",
    }
    plugin = PLUGIN_SRC / "rag_chroma_provider"

    @pytest.fixture(autouse=True)
    def _server(self, chroma_server: ChromaServer) -> None:
        self.server = chroma_server

    def provider_config(self, workdir: Path) -> dict[str, Any]:
        return {"host": self.server.host, "port": self.server.port,
                "collection": f"conformance-{uuid.uuid4().hex[:12]}"}
