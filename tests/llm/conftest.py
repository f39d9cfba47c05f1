"""Fixtures for the LLM and embeddings provider tests.

``llm_registry`` is the ONE place that decides how the provider plugins are loaded:
the repo's plugin_src folders, built into signed bundles with a throwaway key and
loaded through the plugin manager (verify, then import from the verified bytes), as users get them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so `tests.servers` imports however pytest is started
    sys.path.insert(0, str(ROOT))

from pepperpy import PepperPy  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402
from pepperpy_testing.wire.base import LoopbackServer  # noqa: E402
from tests.servers.fixtures import anthropic_server, openai_server  # noqa: E402

__all__ = ["anthropic_server", "openai_server"]

PLUGIN_SRC = ROOT / "plugin_src"
PLUGINS = (
    "llm_openai_provider",
    "llm_openrouter_provider",
    "llm_anthropic_provider",
    "embeddings_openai_provider",
)
API_KEY = "sk-test-SECRET-0123456789"


@pytest.fixture(scope="session")
def llm_registry(session_plugin_registry: ProviderRegistry) -> ProviderRegistry:
    """The LLM and embeddings plugins, from signed bundles through the real pipeline."""
    return session_plugin_registry


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No vendor environment variables leak in from the developer's shell."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENROUTER_API_KEY",
                 "OPENROUTER_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                 "ANTHROPIC_AUTH_TOKEN", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


def base_url(vendor: str, server: LoopbackServer) -> str:
    """The SDK's base_url for a fake: OpenAI-style APIs are mounted at /v1."""
    return server.url if vendor == "anthropic" else server.url + "/v1"


@pytest.fixture
def make_pepper(
    llm_registry: ProviderRegistry, clean_env: None
) -> Callable[..., PepperPy]:
    """``make_pepper(vendor, server, **config)``: PepperPy wired to a fake server."""

    def make(vendor: str, server: LoopbackServer, **config: Any) -> PepperPy:
        config.setdefault("api_key", API_KEY)
        if "base_url" not in config:
            config["base_url"] = base_url(vendor, server)
        config.setdefault("model", "test-model")
        return PepperPy(registry=llm_registry).with_llm(vendor, **config)

    return make


@pytest.fixture(params=["openai", "openrouter", "anthropic"])
def vendor_server(
    request: pytest.FixtureRequest,
    openai_server: LoopbackServer,
    anthropic_server: LoopbackServer,
) -> Iterator[tuple[str, LoopbackServer]]:
    """Each LLM vendor with the fake that speaks its protocol."""
    vendor = request.param
    yield vendor, anthropic_server if vendor == "anthropic" else openai_server
