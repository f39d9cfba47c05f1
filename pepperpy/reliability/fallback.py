"""Fallback chains: the providers one request may try, in order, and when to move on.

Invariants (checked when the chain is configured, not when it is first used):
- every link has the category of the provider it backs up;
- no link repeats another (same provider, model and base_url): a chain never loops;
- embeddings fallbacks return vectors of the primary's dimension, so one index never
  mixes vector sizes;
- a request moves on only after a retryable failure (its retries spent) or an error
  the link lists in ``on=``; never after a stream has started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pepperpy._record import record
from pepperpy.core import BaseProvider, ConfigurationError, PepperpyError, ProviderError

__all__ = ["Link", "check_chain", "check_dimensions", "check_on", "falls_back"]


@record  # not @dataclass: cheaper to define on every first call (pepperpy._record)
class Link:
    """One provider of a chain: its name, the object, and how to get it started."""

    name: str
    provider: BaseProvider
    start: Callable[[], Awaitable[Any]]
    on: tuple[type[PepperpyError], ...] = ()
    #: The provider when it is already started on the running loop, else ``None``
    #: (then ``start()`` is awaited): lets a call skip that step on every request.
    ready: Callable[[], Any] | None = None

    @property
    def model(self) -> str | None:
        model = self.provider.config.get("model")
        return model if isinstance(model, str) else None

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        return self.name, self.model, self.provider.config.get("base_url")


def check_on(on: Any) -> tuple[type[PepperpyError], ...]:
    """``on=`` is an error class or a tuple of them (PepperPy's errors)."""
    classes = on if isinstance(on, tuple | list) else (on,)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, ProviderError)):
            raise ConfigurationError(
                f"with_fallback(on=...) takes ProviderError subclasses such as "
                f"AuthenticationError or BadRequestError, got {cls!r}"
            )
    return tuple(classes)


def check_chain(category: str, links: Sequence[Link]) -> None:
    seen: dict[tuple[str, str | None, str | None], int] = {}
    for index, link in enumerate(links):
        before = seen.setdefault(link.identity, index)
        if before != index:
            where = "the primary provider" if before == 0 else f"fallback #{before}"
            raise ConfigurationError(
                f"the {category} fallback chain repeats itself: {link.name!r} (model "
                f"{link.model!r}) is already {where}; give the fallback another provider, "
                "model or base_url, or drop it"
            )


def check_dimensions(primary: Link, fallback: Link) -> None:
    """Refuse an embeddings fallback whose vectors would not fit the primary's index."""
    try:
        want, got = primary.provider.dimension, fallback.provider.dimension  # type: ignore[attr-defined]
    except Exception:  # some providers know their size only once started: checked then
        return
    if want != got:
        raise ConfigurationError(
            f"embeddings fallback {fallback.name!r} returns {got}-dimensional vectors but "
            f"{primary.name!r} returns {want}: pick a model (or dimensions=...) with "
            f"{want} dimensions, or drop the fallback"
        )


def falls_back(error: BaseException, following: Link) -> bool:
    """Whether a request that failed with ``error`` may move on to ``following``."""
    if not isinstance(error, ProviderError):
        return False
    return error.retryable or isinstance(error, following.on)
