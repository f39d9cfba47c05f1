"""Translate ``openai`` SDK exceptions into PepperPy's provider errors.

Every plugin that uses the OpenAI SDK imports this from the installed PepperPy (chat,
embeddings), so each maps the SDK's exceptions the same way.
Messages say what to do and never include the API key (the SDK's own message may
echo a masked key, so it is not repeated).
"""

from __future__ import annotations

import openai

from pepperpy.core import ProviderError
from pepperpy.http_errors import error_for_status, retry_after_seconds, timed_out, unreachable

__all__ = ["translate_error"]


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
        return timed_out(provider)
    if isinstance(exc, openai.APIConnectionError):
        return unreachable(provider)
    if not isinstance(exc, openai.APIStatusError):
        return ProviderError(f"{provider} failed: {type(exc).__name__}", provider=provider)
    body = exc.body if isinstance(exc.body, dict) else {}
    kind = ", ".join(str(body[k]) for k in ("type", "code") if body.get(k))
    return error_for_status(
        exc.status_code, provider=provider, key_env=key_env, model=model, kind=kind,
        message=str(body.get("message") or ""), secret=secret,
        retry_after=retry_after_seconds(exc.response.headers),
        request_fields="model, messages, tools, schema",
    )
