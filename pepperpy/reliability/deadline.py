"""Per-request deadlines that cover every retry, wait and fallback of one request.

A deadline is an absolute point on the event loop's clock. ``deadline_scope`` puts one
in a context variable, so a chat's ``with_timeout`` reaches the layer without new
parameters on the provider interface; the layer uses the innermost scope, else
PepperPy's own ``with_timeout``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from pepperpy.core import ConfigurationError, ProviderTimeoutError

__all__ = [
    "Deadline", "check_timeout", "current_deadline", "deadline_scope", "pin", "pinned", "unpin",
]

MAX_TIMEOUT = 24 * 3600.0

_current: ContextVar[Deadline | None] = ContextVar("pepperpy_deadline", default=None)


def check_timeout(seconds: Any, *, where: str) -> float:
    """A timeout in seconds, or a ConfigurationError that names the call."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
        math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT
    ):
        raise ConfigurationError(
            f"{where}: the timeout must be a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT:g}, got {seconds!r}"
        )
    return float(seconds)


@dataclass(frozen=True, init=False)
class Deadline:
    """``seconds`` from ``start`` on the running loop's clock."""

    seconds: float
    when: float

    # Written by hand (one per request): the frozen dataclass's own __init__ sets each
    # field through object.__setattr__.
    def __init__(self, seconds: float, when: float) -> None:
        d = self.__dict__
        d["seconds"], d["when"] = seconds, when

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, asyncio.get_running_loop().time() + seconds)

    def expired(self) -> bool:
        return asyncio.get_running_loop().time() >= self.when

    def expired_error(self, what: str) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{what} got no answer within the {self.seconds:g} s deadline (retries and "
            "fallbacks included): raise with_timeout(...) or try again later"
        )


def current_deadline() -> Deadline | None:
    return _current.get()


@contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Run the body under a deadline ``seconds`` from now (no-op for ``None``).

    An outer, earlier deadline still wins: a scope never extends one.
    """
    if seconds is None:
        yield
        return
    with pinned(Deadline.after(seconds)):
        yield


class pinned:
    """Run the body under ``deadline`` itself (no-op for ``None``): a multi-round call
    keeps one deadline across its rounds. An earlier outer deadline still wins.

    A class rather than ``@contextmanager``: every chat request enters one."""

    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: Deadline | None) -> None:
        self._deadline = deadline
        self._token: Token[Deadline | None] | None = None

    def __enter__(self) -> None:
        if self._deadline is not None:
            self._token = pin(self._deadline)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            unpin(self._token)
            self._token = None


def pin(deadline: Deadline) -> Token[Deadline | None]:
    """``pinned(deadline)``'s entry, for a caller that keeps the token itself (no
    object per call): give it back to ``unpin`` on the way out."""
    outer = _current.get()
    return _current.set(deadline if outer is None or deadline.when < outer.when else outer)


def unpin(token: Token[Deadline | None]) -> None:
    _current.reset(token)
