"""Contract suites any provider plugin can run: what the PepperPy core relies on.

One suite per category (``LLMConformance``, ``EmbeddingsConformance``,
``RAGConformance``, ``StorageConformance``, ``ToolsConformance``,
``DocumentsConformance``; ``CategoryConformance`` for a category the core does not
define): subclass it in your pytest with your plugin folder and config, and every rule
becomes a test. A failure names the rule, what was found and the fix. ``pepperpy plugin
test`` runs the same rules from the command line (``run_rules``). Rules cover the
lifecycle, the interface's types and invariants, errors (``PepperpyError`` subclasses,
no secrets in messages) and cancellation. Providers that talk to an OpenAI- or
Anthropic-compatible service set ``wire = "openai"`` and run against
``pepperpy.testing.wire``'s loopback servers.
"""

from __future__ import annotations

from pepperpy.testing.conformance._rules import (
    ConformanceFailure,
    Harness,
    ProviderFactory,
    Rule,
)
from pepperpy.testing.conformance.loading import LoadedPlugin, load_plugin
from pepperpy.testing.conformance.runner import (
    Outcome,
    Report,
    Subject,
    rules_for,
    run_rule,
    run_rules,
)
from pepperpy.testing.conformance.suite import (
    CategoryConformance,
    ConformanceSuite,
    DocumentsConformance,
    EmbeddingsConformance,
    LLMConformance,
    RAGConformance,
    StorageConformance,
    ToolsConformance,
)

__all__ = [
    "CategoryConformance",
    "ConformanceFailure",
    "ConformanceSuite",
    "DocumentsConformance",
    "EmbeddingsConformance",
    "Harness",
    "LLMConformance",
    "LoadedPlugin",
    "Outcome",
    "ProviderFactory",
    "RAGConformance",
    "Report",
    "Rule",
    "StorageConformance",
    "Subject",
    "ToolsConformance",
    "load_plugin",
    "rules_for",
    "run_rule",
    "run_rules",
]
