"""One retry policy for every provider: exponential backoff with jitter.

Invariants:
- only errors whose ``retryable`` is true are retried (429, 5xx, timeouts, lost
  connections); a refused request or a bad key never is;
- a server's ``Retry-After`` wins over the backoff; one longer than ``max_wait`` is not
  waited for (the caller moves on to a fallback, or raises);
- plugins never retry by themselves (their SDKs run with ``max_retries=0``), so a
  request is tried exactly ``attempts`` times per provider, never retried twice over.
"""

from __future__ import annotations

import math
import random
from typing import Any

from pepperpy._record import record
from pepperpy.core import ConfigurationError, ProviderError

__all__ = ["RetryPolicy"]

#: Bounds that catch typos (attempts=100, backoff=3600) at configuration time.
MAX_ATTEMPTS = 10
MAX_BACKOFF = 60.0
MAX_WAIT = 600.0


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
        value
    ) or not low <= value <= high:
        raise ConfigurationError(
            f"with_retry(): {name} must be a number from {low:g} to {high:g} seconds, "
            f"got {value!r}"
        )
    return float(value)


@record  # not @dataclass: cheaper to define on every first call (pepperpy._record)
class RetryPolicy:
    """``attempts`` tries per provider; waits ``backoff``, then twice that, ... capped at
    ``max_wait``, with jitter so many clients do not retry in step."""

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0
    jitter: bool = True

    def __post_init__(self) -> None:
        a = self.attempts
        if isinstance(a, bool) or not isinstance(a, int) or not 1 <= a <= MAX_ATTEMPTS:
            raise ConfigurationError(
                f"with_retry(): attempts must be a whole number from 1 (no retries) to "
                f"{MAX_ATTEMPTS}, got {a!r}"
            )
        object.__setattr__(self, "backoff", _number("backoff", self.backoff, 0, MAX_BACKOFF))
        object.__setattr__(self, "max_wait", _number("max_wait", self.max_wait, 0, MAX_WAIT))
        if not isinstance(self.jitter, bool):
            raise ConfigurationError(f"with_retry(): jitter must be True or False, got "
                                     f"{self.jitter!r}")

    def wait(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None``: do not retry."""
        if attempt >= self.attempts:
            return None
        if not isinstance(error, ProviderError) or not error.retryable:
            return None
        asked = error.retry_after
        if asked is not None:
            return asked if asked <= self.max_wait else None
        delay = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        # "Equal jitter": never less than half the backoff, never more than all of it.
        return delay / 2 + random.uniform(0, delay / 2) if self.jitter else delay
