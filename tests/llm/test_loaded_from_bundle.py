"""The provider tests exercise the real pipeline: code comes from signed bundles."""

from __future__ import annotations

import sys

import pytest

from pepperpy.registry import ProviderRegistry
from pepperpy.trust.sealed import SealedImporter


@pytest.mark.parametrize(
    ("category", "name"),
    [("llm", "openai"), ("llm", "openrouter"), ("llm", "anthropic"), ("embeddings", "openai")],
)
def test_provider_class_is_imported_from_a_bundle(
    llm_registry: ProviderRegistry, category: str, name: str
) -> None:
    loaded = llm_registry.load(category, name)
    module = sys.modules[loaded.provider_class.__module__]
    assert isinstance(module.__loader__, SealedImporter)  # the verified bytes, in memory
    assert module.__file__ is not None and ".pepperplugin" in module.__file__
    assert "key " in loaded.origin and loaded.extra["digest"]
