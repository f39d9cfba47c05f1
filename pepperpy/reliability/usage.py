"""Usage totals per provider and model, for the life of one ``PepperPy`` object.

Counted where every call passes (the layer), so each provider reports the same way:
``requests`` are attempts sent (retries included), ``retries`` the attempts after the
first, ``fallbacks`` the times a request gave up on this provider and moved to the next,
``cache_hits`` answers served from the cache (no request, no tokens). Prices are per
million tokens, from the provider's ``prices={"model": {"input": ..., "output": ...}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from pepperpy.core import ConfigurationError

__all__ = ["ModelUsage", "Prices", "UsageTotals", "check_prices"]

Prices = Mapping[str, Mapping[str, float]]


def check_prices(prices: Any, *, label: str) -> dict[str, dict[str, float]]:
    """Validate ``prices={"model": {"input": x, "output": y}}`` (USD per 1M tokens)."""
    fix = 'use prices={"model-name": {"input": 0.15, "output": 0.6}} (per million tokens)'
    if not isinstance(prices, Mapping):
        raise ConfigurationError(f"{label}: prices must be a dict; {fix}")
    checked: dict[str, dict[str, float]] = {}
    for model, price in prices.items():
        if not isinstance(model, str) or not isinstance(price, Mapping) or not set(
            price
        ) <= {"input", "output"}:
            raise ConfigurationError(f"{label}: bad prices entry {model!r}; {fix}")
        entry = {}
        for kind, value in price.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value >= 0
            ):
                raise ConfigurationError(
                    f"{label}: price {kind!r} of {model!r} must be a number >= 0, got "
                    f"{value!r}; {fix}"
                )
            entry[kind] = float(value)
        checked[model] = entry
    return checked


@dataclass
class ModelUsage:
    """Totals for one provider and model (``"*"`` where rows were summed)."""

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    retries: int = 0
    fallbacks: int = 0
    cache_hits: int = 0
    #: USD, when prices were configured for this model; ``None`` otherwise.
    cost: float | None = None

    def _add(self, other: ModelUsage) -> None:
        for f in fields(self):
            if f.name not in ("provider", "model", "cost"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost


class UsageTotals:
    """Live counters; read them through ``pepper.usage``."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], ModelUsage] = {}
        self._prices: dict[str, Prices] = {}

    def set_prices(self, provider: str, prices: Prices) -> None:
        self._prices[provider] = prices

    def _row(self, provider: str, model: str) -> ModelUsage:
        row = self._rows.get((provider, model))
        if row is None:
            row = self._rows[(provider, model)] = ModelUsage(provider, model)
        return row

    # request() and tokens() run on every call: the row's lookup is inline, _row() only
    # makes a missing one.
    def request(self, provider: str, model: str, *, retry: bool) -> None:
        row = self._rows.get((provider, model)) or self._row(provider, model)
        row.requests += 1
        row.retries += retry

    def tokens(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> None:
        row = self._rows.get((provider, model)) or self._row(provider, model)
        row.input_tokens += input_tokens
        row.output_tokens += output_tokens
        prices = self._prices.get(provider)
        price = prices.get(model) if prices else None
        if price is not None:
            cost = (input_tokens * price.get("input", 0.0)
                    + output_tokens * price.get("output", 0.0)) / 1e6
            row.cost = (row.cost or 0.0) + cost

    def fallback(self, provider: str, model: str) -> None:
        self._row(provider, model).fallbacks += 1

    def cache_hit(self, provider: str, model: str) -> None:
        self._row(provider, model).cache_hits += 1

    # -- reading -----------------------------------------------------------------------
    def rows(self) -> list[ModelUsage]:
        """One copy per (provider, model), sorted."""
        return [ModelUsage(**vars(r)) for _, r in sorted(self._rows.items())]

    def get(self, provider: str, model: str | None = None) -> ModelUsage:
        """Totals for a provider (all its models unless ``model`` is given)."""
        total = ModelUsage(provider, model or "*")
        for row in self._rows.values():
            if row.provider == provider and model in (None, row.model):
                total._add(row)
        return total

    @property
    def total(self) -> ModelUsage:
        total = ModelUsage("*", "*")
        for row in self._rows.values():
            total._add(row)
        return total

    def __repr__(self) -> str:
        t = self.total
        return (f"<UsageTotals requests={t.requests} retries={t.retries} "
                f"fallbacks={t.fallbacks} cache_hits={t.cache_hits} "
                f"tokens={t.input_tokens}+{t.output_tokens} cost={t.cost}>")
