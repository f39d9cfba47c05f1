"""The response cache: identical repeatable requests are answered from storage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy import ConfigurationError, PepperPy, ServerError
from pepperpy.testing.wire import Fault, OpenAIServer
from tests.reliability.conftest import options


@pytest.fixture
def cached(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, tmp_path: Path
) -> Callable[..., PepperPy]:
    def make(**cache: object) -> PepperPy:
        pepper = pepper_for("openai", openai_server).with_storage(
            "sqlite", path=str(tmp_path / "cache.db")
        )
        return pepper.with_cache(**cache)  # type: ignore[arg-type]

    return make


async def test_identical_temperature_0_requests_hit_and_survive_a_restart(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    async with cached() as pepper:
        first = await pepper.chat.with_temperature(0).with_user("hello").generate()
        second = await pepper.chat.with_temperature(0).with_user("hello").generate()
        assert openai_server.hits == 1  # the second made no HTTP request
        assert (first.cached, second.cached) == (False, True)
        assert second.content == first.content == "Echo: hello"
        assert second.provider == "openai" and second.model == first.model
        other = await pepper.chat.with_temperature(0).with_user("goodbye").generate()
        assert openai_server.hits == 2 and not other.cached
        assert pepper.usage.get("openai").cache_hits == 1
        tokens = pepper.usage.total.input_tokens
        await pepper.chat.with_temperature(0).with_user("hello").generate()
        assert pepper.usage.total.input_tokens == tokens  # a hit costs no tokens
    async with cached() as restarted:  # a new process would see the same sqlite file
        again = await restarted.chat.with_temperature(0).with_user("hello").generate()
    assert again.cached and again.content == "Echo: hello"
    assert openai_server.hits == 2


@pytest.mark.parametrize(
    "vary",
    [
        pytest.param(lambda c: c.with_model("other-model"), id="model"),
        pytest.param(lambda c: c.with_system("Be brief."), id="system"),
        pytest.param(lambda c: c.with_max_tokens(5), id="max-tokens"),
        pytest.param(lambda c: c.with_schema({"type": "object", "properties": {}}), id="schema"),
        pytest.param(lambda c: c.with_options(seed=2), id="seed"),
    ],
)
async def test_anything_that_shapes_the_answer_misses(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer, vary: Callable
) -> None:
    async with cached() as pepper:
        await pepper.chat.with_options(seed=1).with_user("hello").generate()
        result = await vary(pepper.chat.with_options(seed=1).with_user("hello")).generate()
    assert not result.cached and openai_server.hits == 2


async def test_only_repeatable_requests_are_cached(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    async with cached() as pepper:
        for _ in range(2):  # the provider's default temperature: not repeatable
            assert not (await pepper.chat.with_user("hi").generate()).cached
        for _ in range(2):
            assert not (await pepper.chat.with_temperature(0.7).with_user("hi").generate()).cached
        await pepper.chat.with_options(seed=7, temperature=0.7).with_user("hi").generate()
        seeded = await pepper.chat.with_options(seed=7, temperature=0.7).with_user("hi").generate()
    assert seeded.cached and openai_server.hits == 5
    async with cached(any_temperature=True) as pepper:
        await pepper.chat.with_user("warm").generate()
        assert (await pepper.chat.with_user("warm").generate()).cached


async def test_errors_and_tool_rounds_are_never_cached(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    openai_server.inject(then=Fault(status=500))
    async with cached().with_retry(attempts=1) as pepper:
        for _ in range(2):
            with pytest.raises(ServerError):
                await pepper.chat.with_temperature(0).with_user("hi").generate()
        assert openai_server.hits == 2
        openai_server.reset()

        def weather(city: str) -> str:
            """The weather in a city."""
            return f"sunny in {city}"

        for _ in range(2):
            result = await pepper.chat.with_temperature(0).with_tools([weather]).with_user(
                "weather?").generate()
            assert result.content == "tool said: sunny in text" and not result.cached
    assert openai_server.hits == 4  # tool call + answer, twice: nothing served from cache


def test_a_cache_needs_storage(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    with pytest.raises(ConfigurationError, match=r"with_storage\('sqlite'\)"):
        pepper_for("openai", openai_server).with_cache()


@pytest.mark.parametrize("ttl", [0, -5, float("nan"), 10**12, "60"])
def test_absurd_ttl(cached: Callable[..., PepperPy], ttl: object) -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        cached(ttl=ttl)


async def test_expired_entries_are_not_served(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    import asyncio

    async with cached(ttl=0.2) as pepper:
        await pepper.chat.with_temperature(0).with_user("hi").generate()
        await asyncio.sleep(0.3)
        assert not (await pepper.chat.with_temperature(0).with_user("hi").generate()).cached
    assert openai_server.hits == 2


async def test_a_fallbacks_answer_is_cached_under_the_request_and_its_chain(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, anthropic_server,
    tmp_path: Path,
) -> None:
    """The answer the fallback served is kept for this request to this chain; the
    primary alone (another chain) never gets it as its own."""
    openai_server.inject(Fault(status=500), Fault(status=500), Fault(status=500))
    store = str(tmp_path / "c.db")
    pepper = pepper_for("openai", openai_server).with_fallback(
        "anthropic", **options("anthropic", anthropic_server)
    ).with_storage("sqlite", path=store).with_cache()
    async with pepper:
        first = await pepper.chat.with_temperature(0).with_user("hi").generate()
        second = await pepper.chat.with_temperature(0).with_user("hi").generate()
    assert first.provider == second.provider == "anthropic"
    assert second.cached and anthropic_server.hits == 1
    alone = pepper_for("openai", openai_server).with_storage("sqlite", path=store).with_cache()
    async with alone:
        third = await alone.chat.with_temperature(0).with_user("hi").generate()
    assert third.provider == "openai" and not third.cached


async def test_two_tenants_sharing_one_cache_never_see_each_others_answers(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    openai_server_2: OpenAIServer, tmp_path: Path,
) -> None:
    """Same request, same provider and model; other account (API key) or endpoint."""
    store = str(tmp_path / "shared.db")
    tenants = [
        pepper_for("openai", openai_server, api_key="sk-tenant-a"),
        pepper_for("openai", openai_server, api_key="sk-tenant-b"),
        pepper_for("openai", openai_server_2, api_key="sk-tenant-a"),
    ]
    for pepper in tenants:
        async with pepper.with_storage("sqlite", path=store).with_cache() as p:
            answer = await p.chat.with_temperature(0).with_user("balance?").generate()
            assert not answer.cached
    assert (openai_server.hits, openai_server_2.hits) == (2, 1)
    async with tenants[1].with_storage("sqlite", path=store).with_cache() as p:
        assert (await p.chat.with_temperature(0).with_user("balance?").generate()).cached
    assert openai_server.hits == 2


@pytest.mark.parametrize("poison", [
    pytest.param(lambda e: {**e, "check": "0" * 64}, id="foreign-check"),
    pytest.param(lambda e: {k: v for k, v in e.items() if k != "check"}, id="no-check"),
    pytest.param(lambda e: {**e, "result": {"content": 42}}, id="content-not-text"),
    pytest.param(lambda e: {**e, "result": None}, id="no-result"),
    pytest.param(lambda e: {**e, "result": {**e["result"], "usage": ["x"]}}, id="bad-usage"),
    pytest.param(lambda e: {**e, "expires": "never"}, id="bad-expiry"),
    pytest.param(lambda e: ["not", "an", "entry"], id="not-an-object"),
])
async def test_a_poisoned_or_malformed_entry_is_a_miss(
    cached: Callable[..., PepperPy], openai_server: OpenAIServer, tmp_path: Path,
    poison: Callable[[dict], object],
) -> None:
    from pepperpy.reliability.cache import NAMESPACE

    async with cached() as pepper:
        await pepper.chat.with_temperature(0).with_user("hello").generate()
    async with cached() as pepper:
        (key,) = await pepper.storage.list(NAMESPACE)
        entry = await pepper.storage.get(NAMESPACE, key)
        await pepper.storage.put(NAMESPACE, key, poison(entry))
    async with cached() as pepper:
        answer = await pepper.chat.with_temperature(0).with_user("hello").generate()
    assert not answer.cached and answer.content == "Echo: hello"
    assert openai_server.hits == 2
