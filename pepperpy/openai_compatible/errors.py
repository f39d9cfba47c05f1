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

#: An ``error`` object inside a stream comes under the stream's own 200 and the SDK
#: raises it as a bare ``APIError``: its code (OpenRouter sends the HTTP status there)
#: or type says what the status would have been. Anything else is the server failing
#: mid-answer, as a 500 would say.
_IN_STREAM = {
    "invalid_request_error": 400, "invalid_api_key": 401, "authentication_error": 401,
    "permission_error": 403, "not_found_error": 404, "rate_limit_exceeded": 429,
    "rate_limit_error": 429, "insufficient_quota": 429, "server_error": 500,
    "overloaded_error": 529,
}


def _in_stream_status(error: object) -> int:
    if not isinstance(error, dict):
        return 500
    code = error.get("code")
    if code.__class__ is int and 400 <= code <= 599:
        return int(code)
    for field in (code, error.get("type")):
        if isinstance(field, str) and field in _IN_STREAM:
            return _IN_STREAM[field]
    return 500


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
    if type(exc) is openai.APIError:  # an error object inside a stream
        status, headers = _in_stream_status(exc.body), None
    elif isinstance(exc, openai.APIStatusError):
        status, headers = exc.status_code, exc.response.headers
    else:
        return ProviderError(f"{provider} failed: {type(exc).__name__}", provider=provider)
    body = exc.body if isinstance(exc.body, dict) else {}
    kind = ", ".join(str(body[k]) for k in ("type", "code") if body.get(k))
    return error_for_status(
        status, provider=provider, key_env=key_env, model=model, kind=kind,
        message=str(body.get("message") or ""), secret=secret,
        retry_after=retry_after_seconds(headers) if headers is not None else None,
        request_fields="model, messages, tools, schema",
    )
