"""A per-request deadline covers retries, waits and fallbacks, and fires on time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pepperpy import ConfigurationError, PepperPy, ProviderTimeoutError
from pepperpy_testing.wire import AnthropicServer, Fault, OpenAIServer
from tests.reliability.conftest import options

TIMEOUT = 1.0


def within_10_percent(elapsed: float) -> bool:
    return TIMEOUT * 0.99 <= elapsed <= TIMEOUT * 1.10


async def test_a_stalled_server_with_retries_and_a_fallback(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=500))  # fails fast: the retries' waits count
    anthropic_server.inject(then=Fault(stall=10))
    pepper = pepper_for("openai", openai_server).with_retry(attempts=3, backoff=0.2)
    pepper = pepper.with_fallback("anthropic", **options("anthropic", anthropic_server))
    async with pepper.with_timeout(TIMEOUT) as pepper:
        started = time.perf_counter()
        with pytest.raises(ProviderTimeoutError, match=r"deadline.*with_timeout") as info:
            await pepper.chat.with_user("hi").generate()
        elapsed = time.perf_counter() - started
    assert within_10_percent(elapsed), elapsed
    assert info.value.retryable
    assert (openai_server.hits, anthropic_server.hits) == (3, 1)


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
async def test_a_stall_on_every_attempt(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, vendor: str,
) -> None:
    server = anthropic_server if vendor == "anthropic" else openai_server
    server.inject(then=Fault(stall=10))
    pepper = pepper_for(vendor, server, timeout=0.3).with_retry(attempts=5, backoff=0.01)
    async with pepper.with_timeout(TIMEOUT) as pepper:
        started = time.perf_counter()
        with pytest.raises(ProviderTimeoutError):
            await pepper.chat.with_user("hi").generate()
        elapsed = time.perf_counter() - started
    assert within_10_percent(elapsed), elapsed
    assert 3 <= server.hits <= 4  # each attempt timed out on its own and was retried inside


async def test_the_chats_own_deadline_and_streams(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(then=Fault(stall=10))
    async with pepper_for("openai", openai_server).with_timeout(30) as pepper:
        started = time.perf_counter()
        with pytest.raises(ProviderTimeoutError):
            [c async for c in pepper.chat.with_timeout(TIMEOUT).with_user("hi").stream()]
        assert within_10_percent(time.perf_counter() - started)
        started = time.perf_counter()
        with pytest.raises(ProviderTimeoutError):
            await pepper.chat.with_timeout(TIMEOUT).with_user("hi").generate()
        assert within_10_percent(time.perf_counter() - started)


async def test_an_answer_in_time_is_untouched(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(Fault(stall=0.2))
    async with pepper_for("openai", openai_server).with_timeout(TIMEOUT) as pepper:
        assert (await pepper.chat.with_user("hi").generate()).content == "Echo: hi"
        text = "".join([c.content async for c in pepper.chat.with_user("yo").stream()])
    assert text == "Echo: yo"


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), 10**9, "5", True])
def test_absurd_timeouts(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, seconds: object
) -> None:
    pepper = pepper_for("openai", openai_server)
    with pytest.raises(ConfigurationError, match="with_timeout"):
        pepper.with_timeout(seconds)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="with_timeout"):
        pepper.chat.with_timeout(seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_a_cancellation_from_outside_stays_one(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, mode: str
) -> None:
    """The deadline turns only its own cancellation into ProviderTimeoutError: the
    caller's asyncio.timeout or task.cancel() still reach the caller as themselves."""
    openai_server.inject(then=Fault(stall=10))
    async with pepper_for("openai", openai_server).with_timeout(30) as pepper:

        async def call() -> None:
            chat = pepper.chat.with_user("hi")
            if mode == "generate":
                await chat.generate()
            else:
                [c async for c in chat.stream()]

        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.3):
                await call()
        assert not isinstance(info.value, ProviderTimeoutError)
        task = asyncio.create_task(call())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_the_deadline_takes_back_its_cancellation(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, mode: str
) -> None:
    """After a deadline error the task is not left half-cancelled: an enclosing
    asyncio.timeout block ends normally and the task carries on."""
    openai_server.inject(Fault(stall=10), then=None)
    async with pepper_for("openai", openai_server).with_timeout(0.3) as pepper:
        async with asyncio.timeout(20):
            chat = pepper.chat.with_user("hi")
            with pytest.raises(ProviderTimeoutError):
                if mode == "generate":
                    await chat.generate()
                else:
                    [c async for c in chat.stream()]
            task = asyncio.current_task()
            assert task is not None and task.cancelling() == 0
            await asyncio.sleep(0)  # no cancellation pending either
            assert (await pepper.chat.with_user("yo").generate()).content == "Echo: yo"
