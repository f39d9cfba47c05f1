"""The offline providers against the conformance suite: the real local LLM and
embeddings models, built, verified and imported like any author's plugin."""

from __future__ import annotations

from typing import Any, ClassVar

from pepperpy_testing.conformance import EmbeddingsConformance, LLMConformance
from tests.conftest import PLUGIN_SRC


class TestLocalLLMConformance(LLMConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "llm.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
        "llm.errors.secrets_hidden": "its options hold no credential",
    }
    plugin = PLUGIN_SRC / "llm_local_provider"
    # Short answers keep each rule's generation quick on a laptop CPU.
    config: ClassVar[dict[str, Any]] = {"seed": 42, "temperature": 0.0, "max_tokens": 8}


class TestLocalEmbeddingsConformance(EmbeddingsConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "embeddings.errors.provider_errors": "no service behind it: nothing to answer 401 or 400",
        "embeddings.errors.secrets_hidden": "its options hold no credential",
    }
    plugin = PLUGIN_SRC / "embeddings_local_provider"
