"""Vendor error statuses become PepperPy errors that say what to do, never the key."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from pepperpy import (
    AuthenticationError,
    BadRequestError,
    PepperPy,
    PepperpyError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from tests.llm.conftest import API_KEY

VendorServer = tuple[str, Any]
KEY_ENV = {"openai": "OPENAI_API_KEY", "openrouter": "OPENROUTER_API_KEY",
           "anthropic": "ANTHROPIC_API_KEY"}

STATUSES = [
    pytest.param(400, BadRequestError, id="400-bad-request"),
    pytest.param(401, AuthenticationError, id="401-auth"),
    pytest.param(403, AuthenticationError, id="403-forbidden"),
    pytest.param(404, BadRequestError, id="404-no-model"),
    pytest.param(429, RateLimitError, id="429-rate-limit"),
    pytest.param(500, ServerError, id="500-server"),
]


def _check(exc: ProviderError, vendor: str, status: int) -> None:
    text = str(exc)
    assert API_KEY not in text and API_KEY not in repr(exc)
    assert exc.provider == vendor
    assert exc.status_code == status
    assert exc.__cause__ is not None  # chained to the SDK's exception
    assert type(exc.__cause__).__module__.split(".")[0] in {"openai", "anthropic"}
    assert ": " in text  # "<what happened>: <what to do>"


@pytest.mark.parametrize(("status", "error"), STATUSES)
@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_status_maps_to_error(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer,
    status: int, error: type[ProviderError], mode: str,
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server, model=f"error-{status}").with_retry(
        attempts=1
    ) as pepper:
        chat = pepper.chat.with_user("hi")
        with pytest.raises(error) as info:
            if mode == "generate":
                await chat.generate()
            else:
                [_ async for _ in chat.stream()]
    _check(info.value, vendor, status)
    assert server.attempts[f"error-{status}"] == 1
    if status == 401:
        assert KEY_ENV[vendor] in str(info.value)
        assert "api_key=" in str(info.value)
        assert info.value.options == ("api_key",)  # a front end adds its own form
    if status == 404:
        assert f"error-{status}" in str(info.value)  # names the model to check


async def test_429_is_retried_honouring_retry_after(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    pepper = make_pepper(vendor, server, model="error-429").with_retry(attempts=3, backoff=5)
    async with pepper:
        started = time.perf_counter()
        with pytest.raises(RateLimitError) as info:
            await pepper.chat.with_user("hi").generate()
        elapsed = time.perf_counter() - started
    assert server.attempts["error-429"] == 3  # PepperPy's attempts, and no SDK retries
    assert info.value.retry_after == pytest.approx(server.retry_after_ms / 1000)
    assert info.value.retryable
    # The server asked for 20 ms (retry-after-ms wins); the backoff alone would be 5 s.
    assert elapsed < 2.0
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "0", "0"]


async def test_one_429_then_success(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server, model="flaky-429") as pepper:
        result = await pepper.chat.with_user("hello").generate()
    assert result.content == "Echo: hello"
    assert server.attempts["flaky-429"] == 2


async def test_timeout(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    server.slow_seconds = 3.0
    async with make_pepper(vendor, server, model="slow", timeout=0.3).with_retry(
        attempts=1
    ) as pepper:
        started = time.perf_counter()
        with pytest.raises(ProviderTimeoutError) as info:
            await pepper.chat.with_user("hi").generate()
        assert time.perf_counter() - started < 2.0
    assert "timeout=" in str(info.value)
    assert info.value.retryable and info.value.provider == vendor


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("vendor", ["openai", "openrouter", "anthropic"])
async def test_unreachable_server(make_pepper: Callable[..., PepperPy], vendor: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}" + ("" if vendor == "anthropic" else "/v1")
    pepper = make_pepper(vendor, None, base_url=url).with_retry(attempts=1)
    async with pepper:
        with pytest.raises(ServerError, match="base_url"):
            await pepper.chat.with_user("hi").generate()


async def test_key_never_in_repr(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    pepper = make_pepper(vendor, server)
    provider = pepper._providers["llm"]
    assert API_KEY not in repr(provider)
    assert API_KEY not in repr(pepper)


@pytest.mark.parametrize("vendor", ["openai", "openrouter", "anthropic"])
def test_missing_key_names_the_variable(
    llm_registry, clean_env: None, vendor: str
) -> None:
    with pytest.raises(PepperpyError, match=KEY_ENV[vendor]):
        PepperPy(registry=llm_registry).with_llm(vendor, base_url="http://127.0.0.1:9")
