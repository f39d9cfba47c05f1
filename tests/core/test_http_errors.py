"""One status-to-error mapping for every HTTP provider plugin."""

from __future__ import annotations

import pytest

from pepperpy import (
    AuthenticationError,
    BadRequestError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from pepperpy.http_errors import error_for_status, retry_after_seconds, timed_out, unreachable


@pytest.mark.parametrize(
    ("status", "error", "fragment"),
    [
        (401, AuthenticationError, "check ACME_API_KEY or pass api_key="),
        (403, AuthenticationError, "rejected the API key (403)"),
        (429, RateLimitError, "slow down"),
        (500, ServerError, "retry later"),
        (503, ServerError, "(503)"),
        (400, BadRequestError, "check the request"),
        (404, BadRequestError, "check that model 'm1' exists"),
    ],
)
def test_status_maps_to_the_error_the_caller_can_act_on(status, error, fragment) -> None:
    exc = error_for_status(status, provider="acme", key_env="ACME_API_KEY", model="m1")
    assert type(exc) is error and fragment in str(exc)
    assert (exc.provider, exc.status_code) == ("acme", status)


def test_refused_request_shows_the_server_text_without_the_secret() -> None:
    exc = error_for_status(
        400, provider="acme", key_env="K", kind="invalid_request", secret="sk-SECRET",
        message="bad field; your key sk-SECRET is fine",
    )
    assert "[invalid_request]" in str(exc) and "bad field" in str(exc)
    assert "sk-SECRET" not in str(exc)


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_the_servers_words_never_show_the_secret_where_they_are_cut(status: int) -> None:
    """The secret is redacted before the server's type and text are cut to length: cut
    first, a key straddling the bound is no longer found, and shows all but its end."""
    secret = "sk-SECRET-0123456789"
    for at in (0, 300 - len(secret) + 2, 100 - len(secret) + 2):
        words = "x" * at + secret
        exc = error_for_status(status, provider="acme", key_env="K", kind=words,
                               message=words, secret=secret)
        assert secret[:-2] not in str(exc) and len(str(exc)) < 600, (at, str(exc))


def test_retry_after_prefers_milliseconds_and_ignores_junk() -> None:
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    date = "Wed, 21 Oct 2026 07:28:00 GMT"  # the HTTP-date form: seconds from `now`
    assert retry_after_seconds({"retry-after": date}, now=1792567675.0) == 5.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    exc = error_for_status(429, provider="acme", key_env="K", retry_after=1.5)
    assert isinstance(exc, RateLimitError) and exc.retry_after == 1.5 and exc.retryable
    busy = error_for_status(503, provider="acme", key_env="K", retry_after=4.0)
    assert isinstance(busy, ServerError) and busy.retry_after == 4.0 and busy.retryable


def test_timeouts_and_unreachable_servers_say_what_to_do() -> None:
    assert isinstance(timed_out("acme"), ProviderTimeoutError)
    assert "timeout=" in str(timed_out("acme"))
    assert "base_url" in str(unreachable("acme")) and unreachable("acme").retryable
