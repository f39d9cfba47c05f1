"""Translate ``anthropic`` SDK exceptions into PepperPy's provider errors.

Messages say what to do and never include the API key.
"""

from __future__ import annotations

import anthropic

from pepperpy.core import ProviderError
from pepperpy.http_errors import error_for_status, retry_after_seconds, timed_out, unreachable

__all__ = ["translate_error"]

_PROVIDER = "anthropic"

#: An error inside a stream arrives under the stream's own 200; its type says what the
#: status would have been (Anthropic's documented error types). Any other type there is
#: the server failing mid-answer.
_IN_STREAM = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
    "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429,
    "api_error": 500, "overloaded_error": 529,
}


def translate_error(
    exc: anthropic.AnthropicError, *, model: str | None, secret: str | None = None
) -> ProviderError:
    """The PepperPy error for ``exc``; the caller raises it ``from exc``."""
    if isinstance(exc, anthropic.APITimeoutError):
        return timed_out(_PROVIDER)
    if isinstance(exc, anthropic.APIConnectionError):
        return unreachable(_PROVIDER)
    if not isinstance(exc, anthropic.APIStatusError):
        return ProviderError(f"anthropic failed: {type(exc).__name__}", provider=_PROVIDER)
    # Anthropic's body: {"type": "error", "error": {"type": ..., "message": ...}}
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    kind = error.get("type")
    status = exc.status_code
    if status < 400:  # an `error` event in a stream: retried like the status it stands for
        status = _IN_STREAM.get(kind, 500) if isinstance(kind, str) else 500
    return error_for_status(
        status, provider=_PROVIDER, key_env="ANTHROPIC_API_KEY", model=model,
        kind=str(kind or ""), message=str(error.get("message") or ""),
        secret=secret, retry_after=retry_after_seconds(exc.response.headers),
        request_fields="model, messages, tools, max_tokens",
    )
