"""Open initialised providers for a test and close every one of them afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from pepperpy.core import BaseProvider
from pepperpy.registry import ProviderRegistry


class Opener(Protocol):
    async def __call__(self, **overrides: Any) -> Any: ...


@asynccontextmanager
async def provider_opener(
    registry: ProviderRegistry, category: str, name: str, config: Mapping[str, Any]
) -> AsyncIterator[Opener]:
    """``open(**overrides)`` makes another initialised provider on the same store
    (for reopen and concurrency tests); all are cleaned up on exit, newest first."""
    opened: list[BaseProvider] = []

    async def open_one(**overrides: Any) -> Any:
        provider = registry.create(category, name, {**config, **overrides})
        await provider.initialize()
        opened.append(provider)
        return provider

    try:
        yield open_one
    finally:
        for provider in reversed(opened):
            if provider.initialized:
                await provider.cleanup()
