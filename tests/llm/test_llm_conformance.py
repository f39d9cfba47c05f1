"""The LLM and embeddings plugins against the conformance suite, each through its real
SDK talking to the loopback server for its wire protocol, built and verified as
authors' plugins are (``plugin = folder``)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from pepperpy_testing.conformance import EmbeddingsConformance, LLMConformance
from tests.llm.conftest import PLUGIN_SRC


@pytest.fixture(autouse=True)
def _no_vendor_env(clean_env: None) -> None:
    """Keys and base URLs from the developer's shell must not reach the providers."""


class TestOpenAIConformance(LLMConformance):
    plugin = PLUGIN_SRC / "llm_openai_provider"
    wire = "openai"
    features = ("tools", "structured_output")
    config: ClassVar[dict[str, Any]] = {"model": "test-model"}


class TestOpenRouterConformance(LLMConformance):
    plugin = PLUGIN_SRC / "llm_openrouter_provider"
    wire = "openai"
    features = ("tools", "structured_output")
    config: ClassVar[dict[str, Any]] = {"model": "test-model"}


class TestAnthropicConformance(LLMConformance):
    plugin = PLUGIN_SRC / "llm_anthropic_provider"
    wire = "anthropic"
    features = ("tools", "structured_output")
    config: ClassVar[dict[str, Any]] = {"model": "test-model"}


class TestOpenAIEmbeddingsConformance(EmbeddingsConformance):
    plugin = PLUGIN_SRC / "embeddings_openai_provider"
    wire = "openai"
    config: ClassVar[dict[str, Any]] = {"model": "text-embedding-3-small"}
