"""Run rules against a provider, each in its own event loop, and report the outcome.

Every rule gets a fresh config (from ``config_for(workdir)``, so stores start empty),
a fresh loopback wire server when the provider talks to one, and a time limit. Any
exception a rule's provider raises is that rule's failure, reported with the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pepperpy.core import ValidationError
from pepperpy.testing.conformance._rules import (
    ConformanceFailure,
    Harness,
    ProviderFactory,
    Rule,
    RuleSkipped,
    describe,
)

__all__ = ["Outcome", "Report", "Subject", "rules_for", "run_rule", "run_rules", "wire_config"]

WIRE_KINDS = ("openai", "anthropic")
#: The API key handed to providers under test: a rule fails if it shows up in a message.
WIRE_API_KEY = "sk-conformance-SECRET-7f3a9c"


def rules_for(category: str) -> tuple[Rule, ...]:
    """The rules of one category (``llm``, ``embeddings``, ``rag``, ``storage``,
    ``tools``, ``documents``; any other category gets the shared lifecycle rules)."""
    if category == "llm":
        from pepperpy.testing.conformance.llm import LLM_RULES as rules
    elif category == "embeddings":
        from pepperpy.testing.conformance.embeddings import EMBEDDINGS_RULES as rules
    elif category == "rag":
        from pepperpy.testing.conformance.rag import RAG_RULES as rules
    elif category == "storage":
        from pepperpy.testing.conformance.storage import STORAGE_RULES as rules
    elif category == "tools":
        from pepperpy.testing.conformance.tools import TOOLS_RULES as rules
    elif category == "documents":
        from pepperpy.testing.conformance.documents import DOCUMENTS_RULES as rules
    else:
        from pepperpy.registry import interface_for
        from pepperpy.testing.conformance.tools import open_category_rules

        interface_for(category)  # a malformed name is refused here
        rules = open_category_rules(category)
    return tuple(rules)


def wire_config(kind: str, server: Any, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Config that points a provider at a loopback server: base_url, api_key, no retries."""
    url = server.url + "/v1" if kind == "openai" else server.url
    config: dict[str, Any] = {"base_url": url, "api_key": WIRE_API_KEY}
    if "max_retries" in (schema or {}).get("properties", {}):
        config["max_retries"] = 0
    return config


@dataclass(frozen=True)
class Subject:
    """The provider under test: how to make one, and with which config."""

    category: str
    factory: ProviderFactory
    config_for: Callable[[Path], dict[str, Any]]
    config_schema: Mapping[str, Any] | None = None
    features: frozenset[str] = frozenset()
    wire: str | None = None
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.wire is not None and self.wire not in WIRE_KINDS:
            raise ValidationError(f"unknown wire protocol {self.wire!r}; use openai or anthropic")


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    status: str  # "passed", "failed" or "skipped"
    detail: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts = {s: sum(o.status == s for o in self.outcomes)
                  for s in ("passed", "failed", "skipped")}
        return ", ".join(f"{n} {s}" for s, n in counts.items())


@contextlib.contextmanager
def _wire_server(kind: str | None) -> Iterator[Any]:
    if kind is None:
        yield None
        return
    from pepperpy.testing.wire import AnthropicServer, OpenAIServer

    server = OpenAIServer() if kind == "openai" else AnthropicServer()
    with server, _no_proxy_for_loopback():
        yield server


@contextlib.contextmanager
def _no_proxy_for_loopback() -> Iterator[None]:
    """A loopback server is never behind a proxy: keep HTTP(S)_PROXY away from it."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name, value in saved.items():
        os.environ[name] = ",".join(filter(None, [value, "127.0.0.1", "localhost"]))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_rule(rule: Rule, subject: Subject, workdir: Path) -> Outcome:
    """Run one rule in a new event loop; never raises for the provider's faults."""
    with _wire_server(subject.wire) as server:
        config = subject.config_for(workdir)
        if server is not None:
            config = {**wire_config(subject.wire or "", server, subject.config_schema), **config}
        harness = Harness(rule, subject.factory, config, workdir, subject.features, server,
                          subject.config_schema)
        outcome = _outcome(rule, harness, subject.timeout)
    return _masked(outcome, harness.secrets())


def _masked(outcome: Outcome, secrets: list[str]) -> Outcome:
    """The report never prints a secret option's value, whatever a provider put in it."""
    detail = outcome.detail
    for secret in sorted(secrets, key=len, reverse=True):
        detail = detail.replace(secret, "***")
    return outcome if detail == outcome.detail else Outcome(outcome.rule, outcome.status, detail)


def _outcome(rule: Rule, harness: Harness, timeout: float) -> Outcome:
    try:
        asyncio.run(_run(harness, timeout))
    except RuleSkipped as skip:
        return Outcome(rule, "skipped", str(skip))
    except ConformanceFailure as failure:
        return Outcome(rule, "failed", str(failure))
    except TimeoutError:
        message = f"[{rule.id}] {rule.must}; found: no result in {timeout:g}s"
        return Outcome(rule, "failed", f"{message}. Fix: {rule.fix}")
    except Exception as exc:
        message = f"[{rule.id}] {rule.must}; found: {describe(exc)}"
        hint = " (raise PepperpyError subclasses for failures a user can meet)"
        return Outcome(rule, "failed", f"{message}. Fix: {rule.fix}{hint}")
    return Outcome(rule, "passed")


async def _run(harness: Harness, timeout: float) -> None:
    try:
        await asyncio.wait_for(harness.rule.check(harness), timeout)
    except BaseException:
        with contextlib.suppress(Exception):  # the rule's own failure is the news
            await harness.close_all()
        raise
    try:
        await harness.close_all()
    except Exception as exc:
        category = harness.rule.id.split(".", 1)[0]
        harness.fail(f"cleanup() raised {describe(exc)} (rule "
                     f"{category}.lifecycle.initialize_then_cleanup)")


def run_rules(
    subject: Subject,
    *,
    rules: Sequence[Rule] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    """Run ``rules`` (default: all of the subject's category), each in a fresh folder."""
    report = Report()
    for rule in rules if rules is not None else rules_for(subject.category):
        with tempfile.TemporaryDirectory(prefix="pepperpy-conformance-") as tmp:
            outcome = run_rule(rule, subject, Path(tmp))
        report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return report
