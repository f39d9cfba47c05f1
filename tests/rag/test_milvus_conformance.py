"""The milvus plugin against the conformance suite, embedded with milvus-lite (a fresh
``.db`` file per test: the same pymilvus calls a Milvus cluster answers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pepperpy.testing.conformance import RAGConformance
from tests.conftest import PLUGIN_SRC


class TestMilvusLiteConformance(RAGConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "rag.errors.provider_errors": "embedded: no service behind it to answer 401 or 400",
    }
    plugin = PLUGIN_SRC / "rag_milvus_provider"

    def provider_config(self, workdir: Path) -> dict[str, Any]:
        # milvus-lite accepts (and ignores) a token: the secrets rule checks it is hidden
        return {"uri": str(workdir / "store.db"), "token": "root:conformance-secret-42"}
