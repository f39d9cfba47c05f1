"""Rules, the failure they raise, and the harness a rule runs against.

A rule is one promise the core relies on (``llm.stream.final_chunk``), a sentence
saying what must hold, the fix, and an async check. A check talks to providers only
through the ``Harness``: it opens fresh providers from the author's factory and
closes every one of them afterwards, so one rule's state never leaks into the next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pepperpy.config import secret_keys
from pepperpy.core import BaseProvider, looks_secret

__all__ = [
    "ConformanceFailure",
    "Harness",
    "ProviderFactory",
    "Rule",
    "RuleSkipped",
    "rule_list",
]

#: Makes a new, not yet initialized provider from a config mapping.
ProviderFactory = Callable[[Mapping[str, Any]], BaseProvider]
Check = Callable[["Harness"], Awaitable[None]]


@dataclass(frozen=True)
class Rule:
    """One contract: ``id`` names it, ``must`` says what holds, ``fix`` how to get there."""

    id: str
    must: str
    fix: str
    check: Check = field(repr=False, compare=False)


class ConformanceFailure(AssertionError):
    """A provider broke a rule. The message names the rule, what was found and the fix."""

    def __init__(self, rule: Rule, found: str) -> None:
        super().__init__(f"[{rule.id}] {rule.must}; found: {found}. Fix: {rule.fix}")
        self.rule = rule
        self.found = found


class RuleSkipped(Exception):
    """The rule does not apply to this provider (the message says why)."""


def rule_list() -> tuple[list[Rule], Callable[[str, str, str], Callable[[Check], Check]]]:
    """A list of rules and the decorator that appends to it, for one category module."""
    rules: list[Rule] = []

    def rule(rule_id: str, must: str, fix: str) -> Callable[[Check], Check]:
        def add(check: Check) -> Check:
            rules.append(Rule(rule_id, must, fix, check))
            return check

        return add

    return rules, rule


@dataclass
class Harness:
    """What a rule sees: a provider factory, a fresh config and an optional wire server."""

    rule: Rule
    factory: ProviderFactory
    config: dict[str, Any]
    workdir: Path
    features: frozenset[str] = frozenset()
    wire: Any = None  # a pepperpy_testing.wire LoopbackServer, when the provider uses one
    config_schema: Mapping[str, Any] | None = None
    opened: list[BaseProvider] = field(default_factory=list)

    def new(self, **overrides: Any) -> BaseProvider:
        """A provider that is not initialized yet (closed at the end if it gets initialized)."""
        try:
            provider = self.factory({**self.config, **overrides})
        except Exception as exc:
            self.fail(f"creating the provider raised {describe(exc)}")
        self.opened.append(provider)
        return provider

    async def open(self, **overrides: Any) -> Any:
        """A new, initialized provider."""
        provider = self.new(**overrides)
        await provider.initialize()
        return provider

    async def close_all(self) -> None:
        """Clean up every provider this rule opened (newest first); errors are the rule's."""
        while self.opened:
            provider = self.opened.pop()
            if provider.initialized:
                await provider.cleanup()

    def fail(self, found: str) -> Any:
        raise ConformanceFailure(self.rule, found)

    def check(self, condition: object, found: str) -> None:
        if not condition:
            self.fail(found)

    def skip(self, why: str) -> Any:
        raise RuleSkipped(why)

    def secrets(self) -> list[str]:
        """Config values that must never appear in a message or a ``repr``."""
        marked = secret_keys(self.config_schema)
        return [
            str(v) for k, v in self.config.items()
            if (k in marked or looks_secret(k)) and isinstance(v, str) and len(v) >= 6
        ]

    def has_option(self, name: str) -> bool:
        props = (self.config_schema or {}).get("properties", {})
        return name in props or (self.config_schema is None and name in self.config)


def describe(exc: BaseException) -> str:
    """``module.Class: message``, for reports."""
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
