"""``pepper.use(category, provider)``: a provider of any category, started on first use.

A category the core does not define has no builder, so the handle forwards method
calls to the provider itself: ``await pepper.use("tts", "espeak").synthesize("Hi")``
starts the provider (once, on the PepperPy object's loop) and awaits the method.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pepperpy.core import ConfigurationError

__all__ = ["ProviderHandle"]


class ProviderHandle:
    """Forwards ``handle.method(...)`` to the started provider; ``await handle.get()``
    returns the provider itself."""

    def __init__(self, getter: Callable[[], Awaitable[Any]], label: str) -> None:
        self._getter = getter
        self._label = label

    async def get(self) -> Any:
        """The provider, initialized."""
        return await self._getter()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            provider = await self._getter()
            method = getattr(provider, name, None)
            if not callable(method):
                public = sorted(n for n in dir(provider) if not n.startswith("_")
                                and callable(getattr(provider, n, None)))
                raise ConfigurationError(
                    f"the {self._label} has no method {name!r}; its methods: "
                    f"{', '.join(public)}"
                )
            value = method(*args, **kwargs)
            return await value if inspect.isawaitable(value) else value

        call.__name__ = name
        return call

    def __repr__(self) -> str:
        return f"<ProviderHandle {self._label}>"
