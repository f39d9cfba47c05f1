"""One retry policy for every provider, with the real SDKs (their own retries off)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import pytest

from pepperpy import BadRequestError, PepperPy, RateLimitError, ServerError
from pepperpy.http_errors import retry_after_seconds
from pepperpy_testing.wire import AnthropicServer, Fault, LoopbackServer, OpenAIServer

VENDORS = ["openai", "anthropic"]


def server_for(vendor: str, openai: OpenAIServer, anthropic: AnthropicServer) -> LoopbackServer:
    return anthropic if vendor == "anthropic" else openai


@pytest.mark.parametrize("vendor", VENDORS)
async def test_429_with_retry_after_then_200(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, vendor: str,
) -> None:
    server = server_for(vendor, openai_server, anthropic_server)
    server.inject(Fault(status=429, retry_after="1"))
    async with pepper_for(vendor, server) as pepper:
        started = time.perf_counter()
        result = await pepper.chat.with_user("hello").generate()
        elapsed = time.perf_counter() - started
    assert result.content == "Echo: hello" and result.provider == vendor
    assert server.hits == 2  # one 429, one answer: the SDK did not retry on its own
    assert 0.95 <= elapsed < 1.8  # waited what the server asked, not the 10 ms backoff
    usage = pepper.usage.get(vendor)
    assert (usage.requests, usage.retries, usage.fallbacks) == (2, 1, 0)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("status", [429, 503])
async def test_errors_carry_retry_after_in_both_forms(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, vendor: str, status: int,
) -> None:
    server = server_for(vendor, openai_server, anthropic_server)
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.inject(Fault(status=status, retry_after="7"), Fault(status=status, retry_after=date))
    async with pepper_for(vendor, server).with_retry(attempts=1) as pepper:
        for expected in (7.0, 30.0):
            with pytest.raises((RateLimitError, ServerError)) as info:
                await pepper.chat.with_user("hi").generate()
            assert info.value.status_code == status
            assert info.value.retry_after == pytest.approx(expected, abs=2)
    assert server.hits == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_attempts_equal_the_policy(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, vendor: str,
) -> None:
    server = server_for(vendor, openai_server, anthropic_server)
    server.inject(then=Fault(status=500))
    async with pepper_for(vendor, server).with_retry(attempts=4, backoff=0.01) as pepper:
        with pytest.raises(ServerError):
            await pepper.chat.with_user("hi").generate()
    assert server.hits == 4
    assert pepper.usage.get(vendor).retries == 3


async def test_a_refused_request_is_never_retried(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(then=Fault(status=400))
    async with pepper_for("openai", openai_server) as pepper:
        with pytest.raises(BadRequestError):
            await pepper.chat.with_user("hi").generate()
    assert openai_server.hits == 1


async def test_a_retry_after_longer_than_max_wait_is_not_waited_for(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(Fault(status=429, retry_after="120"))
    async with pepper_for("openai", openai_server).with_retry(max_wait=5) as pepper:
        started = time.perf_counter()
        with pytest.raises(RateLimitError, match="with_retry"):
            await pepper.chat.with_user("hi").generate()
        assert time.perf_counter() - started < 1
    assert openai_server.hits == 1


async def test_a_stream_is_retried_before_its_first_chunk(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(Fault(cut_after=0), Fault(status=503))
    async with pepper_for("openai", openai_server) as pepper:
        chunks = [c async for c in pepper.chat.with_user("hello there").stream()]
    assert "".join(c.content for c in chunks) == "Echo: hello there"
    assert openai_server.hits == 3
    assert pepper.usage.get("openai").retries == 2


async def test_embeddings_are_retried(
    llm_registry, clean_env: None, openai_server: OpenAIServer
) -> None:
    openai_server.inject(Fault(status=500))
    pepper = PepperPy(registry=llm_registry).with_embeddings(
        "openai", api_key="sk-test", base_url=openai_server.url + "/v1", dimensions=8
    ).with_retry(backoff=0.01)
    async with pepper:
        vectors = await pepper.embed(["a", "b"])
    assert len(vectors) == 2 and len(vectors[0]) == 8
    assert openai_server.hits == 2
    assert pepper.usage.get("openai").retries == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "3"}, 3.0, id="seconds"),
        pytest.param({"retry-after": "1.5"}, 1.5, id="fraction"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-wins"),
        pytest.param({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0, id="http-date"),
        pytest.param({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0, id="date-past"),
        pytest.param({"retry-after": "-5"}, None, id="negative"),
        pytest.param({"retry-after": "inf"}, None, id="infinite"),
        pytest.param({"retry-after": "nan"}, None, id="nan"),
        pytest.param({"retry-after": "soon"}, None, id="garbage"),
        pytest.param({"retry-after": "x" * 5000}, None, id="huge"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert retry_after_seconds(headers, now=now) == expected
