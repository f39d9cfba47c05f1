"""Fixtures for the reliability tests: the real plugins (signed bundles) and SDKs
against loopback servers that inject faults (``pepperpy_testing.wire.Fault``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.registry import ProviderRegistry
from pepperpy_testing.wire import LoopbackServer, OpenAIServer
from tests.llm.conftest import API_KEY, base_url, clean_env, llm_registry
from tests.servers.fixtures import anthropic_server, openai_server

__all__ = ["anthropic_server", "clean_env", "llm_registry", "openai_server"]


@pytest.fixture
def openai_server_2() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


def options(vendor: str, server: LoopbackServer, **config: Any) -> dict[str, Any]:
    """Provider config pointing ``vendor``'s plugin at ``server``."""
    config.setdefault("api_key", API_KEY)
    config.setdefault("base_url", base_url(vendor, server))
    config.setdefault("model", f"{vendor}-model")
    return config


@pytest.fixture
def pepper_for(
    llm_registry: ProviderRegistry, clean_env: None
) -> Callable[..., PepperPy]:
    """``pepper_for(vendor, server, **config)``: PepperPy with that LLM, fast backoff."""

    def make(vendor: str, server: LoopbackServer, **config: Any) -> PepperPy:
        pepper = PepperPy(registry=llm_registry).with_llm(vendor, **options(vendor, server,
                                                                           **config))
        return pepper.with_retry(attempts=3, backoff=0.01)

    return make
