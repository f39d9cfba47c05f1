"""Fixtures for the offline providers: real signed bundles, models loaded once.

The providers come through the full plugin pipeline (``session_plugin_registry`` in
``tests/conftest.py``: the ``plugin_src`` folders built into signed bundles, verified
and imported from the verified bytes), and through the fluent API. Each model loads once per
test session. A missing dependency fails loudly (auto-install is off), it is
never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from pepperpy import PepperPy
from pepperpy.registry import ProviderRegistry


@pytest.fixture(scope="session")
def local_registry(session_plugin_registry: ProviderRegistry) -> ProviderRegistry:
    """The registry offering the signed ``local`` llm and embeddings bundles."""
    return session_plugin_registry


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def llm_pepper(local_registry: ProviderRegistry) -> AsyncIterator[PepperPy]:
    """PepperPy with the local LLM (SmolLM2-135M), loaded once for the session."""
    async with PepperPy(registry=local_registry).with_llm(
        "local", seed=42, temperature=0.0
    ) as pepper:
        yield pepper


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def embed_pepper(local_registry: ProviderRegistry) -> AsyncIterator[PepperPy]:
    """PepperPy with the local embeddings (int8 MiniLM), loaded once for the session."""
    async with PepperPy(registry=local_registry).with_embeddings("local") as pepper:
        yield pepper
