"""Translate ``openai`` SDK exceptions into PepperPy's provider errors.

Bundles are self-contained: every plugin that uses the OpenAI SDK lists this file in
its ``shared.txt``, and the builder puts it into each bundle.
Messages say what to do and never include the API key (the SDK's own message may
echo a masked key, so it is not repeated).
"""

from __future__ import annotations

import openai

from pepperpy.core import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

__all__ = ["translate_error"]


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after``."""
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


def _detail(exc: openai.APIStatusError) -> str:
    """The server's error type/code, which is safe to show (never the message text)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    parts = [str(body.get(k)) for k in ("type", "code") if body.get(k)]
    return f" [{', '.join(parts)}]" if parts else ""


def _server_message(exc: openai.APIStatusError, secret: str | None) -> str:
    """The server's explanation of a refused request, with the key redacted."""
    body = exc.body if isinstance(exc.body, dict) else {}
    text = str(body.get("message") or "")[:300]
    if secret:
        text = text.replace(secret, "***")
    return f" ({text})" if text else ""


def translate_error(
    exc: openai.OpenAIError,
    *,
    provider: str,
    key_env: str,
    model: str | None,
    secret: str | None = None,
) -> ProviderError:
    """The PepperPy error for ``exc``; the caller raises it ``from exc``."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeoutError(
            f"{provider} did not answer in time: raise timeout=... or retry later",
            provider=provider,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ServerError(
            f"could not reach {provider}: check base_url and your network connection",
            provider=provider,
        )
    if not isinstance(exc, openai.APIStatusError):
        return ProviderError(f"{provider} failed: {type(exc).__name__}", provider=provider)
    status = exc.status_code
    detail = _detail(exc)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return AuthenticationError(
            f"{provider} rejected the API key ({status}){detail}: check {key_env} or pass "
            "api_key=...",
            provider=provider,
            status_code=status,
        )
    if isinstance(exc, openai.RateLimitError):
        return RateLimitError(
            f"{provider} rate limit hit (429){detail} after the SDK's retries: slow down, "
            "raise max_retries=..., or check your plan's quota",
            provider=provider,
            retry_after=_retry_after(exc),
        )
    if status >= 500:
        return ServerError(
            f"{provider} failed on its side ({status}){detail}: retry later",
            provider=provider,
            status_code=status,
        )
    hint = f"check that model {model!r} exists" if status == 404 else "check the request"
    return BadRequestError(
        f"{provider} refused the request ({status}){detail}{_server_message(exc, secret)}: "
        f"{hint} (model, messages, tools, schema)",
        provider=provider,
        status_code=status,
    )
