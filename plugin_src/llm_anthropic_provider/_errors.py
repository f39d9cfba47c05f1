"""Translate ``anthropic`` SDK exceptions into PepperPy's provider errors.

Messages say what to do and never include the API key.
"""

from __future__ import annotations

import anthropic

from pepperpy.core import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

__all__ = ["translate_error"]

_PROVIDER = "anthropic"


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            continue
    return None


def _error_body(exc: anthropic.APIStatusError) -> tuple[str, str]:
    """Anthropic's ``{"type": "error", "error": {"type", "message"}}``: (type, message)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return str(error.get("type") or ""), str(error.get("message") or "")[:300]


def translate_error(
    exc: anthropic.AnthropicError, *, model: str | None, secret: str | None = None
) -> ProviderError:
    """The PepperPy error for ``exc``; the caller raises it ``from exc``."""
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderTimeoutError(
            "anthropic did not answer in time: raise timeout=... or retry later",
            provider=_PROVIDER,
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return ServerError(
            "could not reach anthropic: check base_url and your network connection",
            provider=_PROVIDER,
        )
    if not isinstance(exc, anthropic.APIStatusError):
        return ProviderError(f"anthropic failed: {type(exc).__name__}", provider=_PROVIDER)
    status = exc.status_code
    kind, text = _error_body(exc)
    detail = f" [{kind}]" if kind else ""
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return AuthenticationError(
            f"anthropic rejected the API key ({status}){detail}: check ANTHROPIC_API_KEY or "
            "pass api_key=...",
            provider=_PROVIDER,
            status_code=status,
        )
    if isinstance(exc, anthropic.RateLimitError):
        return RateLimitError(
            f"anthropic rate limit hit (429){detail} after the SDK's retries: slow down, "
            "raise max_retries=..., or check your plan's limits",
            provider=_PROVIDER,
            retry_after=_retry_after(exc),
        )
    if status >= 500:
        return ServerError(
            f"anthropic failed on its side ({status}){detail}: retry later",
            provider=_PROVIDER,
            status_code=status,
        )
    if secret:
        text = text.replace(secret, "***")
    hint = f"check that model {model!r} exists" if status == 404 else "check the request"
    return BadRequestError(
        f"anthropic refused the request ({status}){detail}"
        f"{f' ({text})' if text else ''}: {hint} (model, messages, tools, max_tokens)",
        provider=_PROVIDER,
        status_code=status,
    )
