"""Pytest base classes: subclass one, say what to test, and the suite gives the tests.

::

    from pathlib import Path
    from pepperpy.testing.conformance import LLMConformance

    class TestEchoProvider(LLMConformance):
        plugin = Path(__file__).parents[1]      # the plugin folder (or a .pepperplugin)
        config = {"greeting": "hi"}             # options passed to the provider

One test per rule (``test_llm_stream_final_chunk``...), each run in its own event
loop, so the suite needs no pytest-asyncio settings. Override ``provider_config`` for
per-test stores (it gets a fresh folder) and ``provider_factory`` to create providers
another way (an autouse fixture can put a registry on ``self`` first).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pepperpy.core import BaseProvider, ConfigurationError
from pepperpy.testing.conformance._rules import ProviderFactory, Rule
from pepperpy.testing.conformance.runner import Subject, rules_for, run_rule

__all__ = [
    "CategoryConformance",
    "ConformanceSuite",
    "DocumentsConformance",
    "EmbeddingsConformance",
    "LLMConformance",
    "RAGConformance",
    "StorageConformance",
    "ToolsConformance",
]


class ConformanceSuite:
    """Shared machinery; use the per-category subclasses below."""

    category: ClassVar[str] = ""
    #: A plugin source folder or a .pepperplugin: loaded through the verified path.
    plugin: ClassVar[str | Path | None] = None
    #: Or a provider class, tested in-process (with ``config_schema`` if given).
    provider_class: ClassVar[type[BaseProvider] | None] = None
    config_schema: ClassVar[Mapping[str, Any] | None] = None
    config: ClassVar[Mapping[str, Any]] = {}
    #: Optional features the provider promises: "tools", "structured_output".
    features: ClassVar[Collection[str]] = ()
    #: "openai" or "anthropic": run each test against a loopback wire server.
    wire: ClassVar[str | None] = None
    timeout: ClassVar[float] = 120.0
    #: Rules that cannot apply to this provider, by id, each with the reason (a local
    #: model has no API key to hide, no service to fail): their tests are not generated,
    #: so a suite that runs green skipped nothing.
    not_applicable: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = {rule.id for rule in rules_for(cls.category)} if cls.category else set()
        for rule_id in cls.not_applicable:
            if rule_id not in known:
                raise ConfigurationError(
                    f"{cls.__name__}.not_applicable names {rule_id!r}, which is not a "
                    f"{cls.category} rule (the rule ids are listed under 'The rules' in "
                    "docs/plugin-author-guide.md)")
            setattr(cls, _test_name(rule_id), None)

    def provider_factory(self) -> ProviderFactory:
        """How to make a provider from a config (default: from ``plugin``/``provider_class``)."""
        if self.plugin is not None:
            from pepperpy.testing.conformance.loading import load_plugin

            return load_plugin(self.plugin).create
        if self.provider_class is not None:
            from pepperpy.registry import ProviderRegistry

            registry = ProviderRegistry()
            registry.register(self.category, "under-test", self.provider_class,
                              config_schema=self.config_schema)
            return lambda config: registry.create(self.category, "under-test", config)
        raise ConfigurationError(
            f"{type(self).__name__}: set `plugin` (a folder or bundle) or `provider_class`"
        )

    def schema(self) -> Mapping[str, Any] | None:
        """The provider's config schema (from the plugin when there is one)."""
        if self.plugin is not None:
            from pepperpy.testing.conformance.loading import load_plugin

            return load_plugin(self.plugin).config_schema
        return self.config_schema

    def provider_config(self, workdir: Path) -> dict[str, Any]:
        """The config for one test; ``workdir`` is a fresh folder (``data_dir`` by default)."""
        config = dict(self.config)
        if "data_dir" in (self.schema() or {}).get("properties", {}):
            config.setdefault("data_dir", str(workdir))
        return config

    def conformance_subject(self) -> Subject:
        return Subject(self.category, self.provider_factory(), self.provider_config,
                       self.schema(), frozenset(self.features), self.wire, self.timeout)


def _test_for(rule: Rule) -> Callable[[Any, Path], None]:
    def test(self: ConformanceSuite, tmp_path: Path) -> None:
        import pytest

        outcome = run_rule(rule, self.conformance_subject(), tmp_path)
        if outcome.status == "skipped":
            pytest.skip(outcome.detail)
        if outcome.status == "failed":
            pytest.fail(outcome.detail, pytrace=False)

    test.__name__ = _test_name(rule.id)
    test.__doc__ = rule.must
    return test


def _test_name(rule_id: str) -> str:
    return "test_" + rule_id.replace(".", "_")


def _suite(name: str, category: str) -> type[ConformanceSuite]:
    namespace: dict[str, Any] = {"category": category, "__module__": __name__,
                                 "__doc__": f"The {category} contract, one test per rule."}
    for rule in rules_for(category):
        method = _test_for(rule)
        namespace[method.__name__] = method
    return type(name, (ConformanceSuite,), namespace)


LLMConformance = _suite("LLMConformance", "llm")
EmbeddingsConformance = _suite("EmbeddingsConformance", "embeddings")
RAGConformance = _suite("RAGConformance", "rag")
StorageConformance = _suite("StorageConformance", "storage")
ToolsConformance = _suite("ToolsConformance", "tools")
DocumentsConformance = _suite("DocumentsConformance", "documents")


class CategoryConformance(ConformanceSuite):
    """The shared rules for a category the core does not define: set ``category``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.category:
            for rule in rules_for(cls.category):
                method = _test_for(rule)
                if method.__name__ not in cls.__dict__:
                    setattr(cls, method.__name__, method)
        super().__init_subclass__(**kwargs)
