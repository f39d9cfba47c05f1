"""Map an HTTP API's failures to PepperPy's provider errors, one way for every plugin.

A provider plugin only classifies its SDK's exception (timed out, unreachable, or a
status code with the server's error type and text) and calls these; the wording, the
error class per status and the ``retry-after`` parsing stay the same across vendors.
Nothing here imports an SDK.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import sys
import time
from collections.abc import Mapping

from pepperpy.core import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "dropped",
    "error_for_status",
    "retry_after_seconds",
    "shown",
    "timed_out",
    "transport_errors",
    "unreachable",
]


def retry_after_seconds(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after``.

    ``retry-after`` may be a number of seconds or an HTTP-date (RFC 9110 10.2.3); a
    date in the past means "now" (0). Anything unreadable, negative or not finite is
    ignored, so a broken header never turns into an endless wait.
    """
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds = _seconds(value.strip(), divisor, now)
        if seconds is not None:
            return seconds
    return None


def _seconds(value: str, divisor: float, now: float | None) -> float | None:
    try:
        number = float(value) / divisor
    except ValueError:
        number = None
    if number is not None:
        return number if math.isfinite(number) and number >= 0 else None
    if divisor != 1.0 or len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def shown(text: str, limit: int, secret: str | None = None) -> str:
    """Text the server chose (an error type, a tool name), as a message may repeat it:
    ``secret`` redacted first (a key cut first would no longer match, and would show all
    but its last characters), then cut to ``limit`` characters, so a megabyte of text
    never reaches a message, a log line or a span."""
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= limit else f"{text[:limit]}..."


def timed_out(provider: str) -> ProviderTimeoutError:
    return ProviderTimeoutError(
        f"{provider} did not answer in time: raise timeout=... or retry later",
        provider=provider,
    )


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors while a body is read, which SDKs let escape while a
    stream is read (``httpx``, or ``httpx2`` in newer SDKs; whichever the SDK already
    imported): a broken or timed-out connection, and a body its ``content-encoding``
    does not decode (``DecodingError``, a ``RequestError`` but no ``TransportError``)."""
    found = []
    for name in ("httpx", "httpx2"):
        module = sys.modules.get(name)
        error = getattr(module, "RequestError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def dropped(provider: str) -> ServerError:
    """The connection broke while an answer was streaming in."""
    return ServerError(
        f"the connection to {provider} broke while the answer was streaming: retry the request",
        provider=provider,
    )


def unreachable(provider: str) -> ServerError:
    return ServerError(
        f"could not reach {provider}: check base_url and your network connection",
        provider=provider,
    )


def error_for_status(
    status: int,
    *,
    provider: str,
    key_env: str,
    model: str | None = None,
    kind: str = "",
    message: str = "",
    secret: str | None = None,
    retry_after: float | None = None,
    request_fields: str = "model, messages, tools",
) -> ProviderError:
    """The error for an HTTP ``status``; ``kind`` and ``message`` are the server's own
    error type and text (the text is shown only for refused requests). Both are the
    server's words, redacted and bounded by :func:`shown`."""
    kind, text = shown(kind, 100, secret), shown(message, 300, secret)
    detail = f" [{kind}]" if kind else ""
    if status in (401, 403):
        rejected = AuthenticationError(
            f"{provider} rejected the API key ({status}){detail}: check {key_env} or pass "
            "api_key=...",
            provider=provider,
            status_code=status,
        )
        rejected.options = ("api_key",)
        return rejected
    if status == 429:
        return RateLimitError(
            f"{provider} rate limit hit (429){detail}: slow down, allow more attempts "
            "with PepperPy().with_retry(attempts=...), or check your plan's quota",
            provider=provider,
            status_code=status,
            retry_after=retry_after,
        )
    if status >= 500:
        return ServerError(
            f"{provider} failed on its side ({status}){detail}: retry later",
            provider=provider,
            status_code=status,
            retry_after=retry_after,
        )
    hint = f"check that model {model!r} exists" if status == 404 else "check the request"
    return BadRequestError(
        f"{provider} refused the request ({status}){detail}{f' ({text})' if text else ''}: "
        f"{hint} ({request_fields})",
        provider=provider,
        status_code=status,
    )
