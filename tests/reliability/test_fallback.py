"""Fallbacks across providers, with the real SDKs against fault-injecting servers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pepperpy import (
    AuthenticationError,
    ConfigurationError,
    PepperPy,
    PluginNotFoundError,
    ServerError,
)
from pepperpy_testing.wire import AnthropicServer, Fault, OpenAIServer
from tests.reliability.conftest import options


def chain(
    pepper_for: Callable[..., PepperPy], openai: OpenAIServer, anthropic: AnthropicServer,
    **fallback: object,
) -> PepperPy:
    return pepper_for("openai", openai).with_fallback(
        "anthropic", **options("anthropic", anthropic, **fallback)
    )


async def test_primary_always_500_the_fallback_answers(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=500))
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        result = await pepper.chat.with_user("hello").generate()
    assert result.content == "Echo: hello"
    assert (result.provider, result.model) == ("anthropic", "anthropic-model")
    assert openai_server.hits == 3  # the retry policy's attempts, not more
    assert anthropic_server.hits == 1
    primary = pepper.usage.get("openai")
    assert (primary.requests, primary.retries, primary.fallbacks) == (3, 2, 1)
    assert pepper.usage.get("anthropic").requests == 1


async def test_a_chats_model_is_the_primarys_the_fallback_keeps_its_own(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=503))
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        result = await pepper.chat.with_model("gpt-special").with_user("hi").generate()
    assert openai_server.last().body["model"] == "gpt-special"
    assert anthropic_server.last().body["model"] == "anthropic-model"
    assert result.model == "anthropic-model"


async def test_not_retryable_errors_do_not_fall_back_unless_listed(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=401))
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        with pytest.raises(AuthenticationError):
            await pepper.chat.with_user("hi").generate()
    assert (openai_server.hits, anthropic_server.hits) == (1, 0)

    listed = chain(pepper_for, openai_server, anthropic_server, on=(AuthenticationError,))
    async with listed as pepper:
        result = await pepper.chat.with_user("hi").generate()
    assert result.provider == "anthropic"
    assert openai_server.hits == 2  # one more try, never retried: 401 is not retryable


async def test_when_every_provider_fails_the_last_error_is_raised(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=500))
    anthropic_server.inject(then=Fault(status=529))
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        with pytest.raises(ServerError) as info:
            await pepper.chat.with_user("hi").generate()
    assert info.value.provider == "anthropic" and info.value.status_code == 529
    assert (openai_server.hits, anthropic_server.hits) == (3, 3)


async def test_a_stream_failing_before_its_first_chunk_falls_back(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(cut_after=0))
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        chunks = [c async for c in pepper.chat.with_user("hello there").stream()]
    assert "".join(c.content for c in chunks) == "Echo: hello there"
    assert {c.provider for c in chunks} == {"anthropic"}
    assert openai_server.hits == 3


@pytest.mark.parametrize("cut", [3, 5])
async def test_a_stream_failing_after_its_first_chunk_raises_and_never_splices(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, cut: int,
) -> None:
    openai_server.inject(then=Fault(cut_after=cut))
    received: list[str] = []
    async with chain(pepper_for, openai_server, anthropic_server) as pepper:
        with pytest.raises(ServerError, match="broke while the answer was streaming"):
            async for chunk in pepper.chat.with_user("hello there friend").stream():
                assert chunk.provider == "openai"
                received.append(chunk.content)
    assert received and "Echo: hello there friend".startswith("".join(received))
    assert (openai_server.hits, anthropic_server.hits) == (1, 0)  # no retry, no fallback


async def test_any_number_of_fallbacks_in_order(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    openai_server_2: OpenAIServer, anthropic_server: AnthropicServer,
) -> None:
    openai_server.inject(then=Fault(status=500))
    anthropic_server.inject(then=Fault(status=500))
    pepper = chain(pepper_for, openai_server, anthropic_server).with_fallback(
        "openai", **options("openai", openai_server_2, model="backup")
    )
    async with pepper:
        result = await pepper.chat.with_user("hi").generate()
    assert (result.provider, result.model) == ("openai", "backup")
    assert (openai_server.hits, anthropic_server.hits, openai_server_2.hits) == (3, 3, 1)
    assert pepper.usage.get("openai", "backup").requests == 1
    assert pepper.usage.get("anthropic").fallbacks == 1


async def test_embeddings_fall_back_when_dimensions_match(
    llm_registry, clean_env: None, openai_server: OpenAIServer, openai_server_2: OpenAIServer
) -> None:
    openai_server.inject(then=Fault(status=502))
    pepper = PepperPy(registry=llm_registry).with_embeddings(
        "openai", api_key="k", base_url=openai_server.url + "/v1", dimensions=8
    ).with_fallback("openai", api_key="k", base_url=openai_server_2.url + "/v1",
                    dimensions=8).with_retry(attempts=2, backoff=0.01)
    async with pepper:
        vectors = await pepper.embed(["a"])
    assert len(vectors[0]) == 8
    assert (openai_server.hits, openai_server_2.hits) == (2, 1)


# -- bad input: refused at configuration time, naming the fix ------------------------------
def test_fallback_of_another_category(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, llm_registry, clean_env
) -> None:
    pepper = PepperPy(registry=llm_registry).with_embeddings(
        "openai", api_key="k", base_url=openai_server.url + "/v1"
    )
    with pytest.raises(ConfigurationError, match=r"'anthropic' is in the llm category"):
        pepper.with_fallback("anthropic", api_key="k")
    with pytest.raises(PluginNotFoundError):  # not a category mix-up: simply unknown
        pepper.with_fallback("no-such-provider")


def test_fallback_without_a_provider_before_it(llm_registry, clean_env: None) -> None:
    with pytest.raises(ConfigurationError, match=r"right after with_llm"):
        PepperPy(registry=llm_registry).with_fallback("anthropic", api_key="k")


def test_a_chain_that_repeats_itself(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    pepper = pepper_for("openai", openai_server)
    with pytest.raises(ConfigurationError, match=r"repeats itself.*primary"):
        pepper.with_fallback("openai", **options("openai", openai_server))
    pepper.with_fallback("anthropic", **options("anthropic", anthropic_server))
    with pytest.raises(ConfigurationError, match=r"repeats itself.*fallback #1"):
        pepper.with_fallback("anthropic", **options("anthropic", anthropic_server))


def test_embeddings_fallback_of_another_dimension(
    llm_registry, clean_env: None, openai_server: OpenAIServer
) -> None:
    pepper = PepperPy(registry=llm_registry).with_embeddings(
        "openai", api_key="k", base_url=openai_server.url + "/v1", dimensions=8
    )
    with pytest.raises(ConfigurationError, match=r"16-dimensional.*returns 8"):
        pepper.with_fallback("openai", api_key="k", model="other", dimensions=16)


@pytest.mark.parametrize("on", [ValueError, "AuthenticationError", (AuthenticationError, 3)])
def test_on_takes_provider_errors(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, on: object,
) -> None:
    with pytest.raises(ConfigurationError, match="ProviderError subclasses"):
        chain(pepper_for, openai_server, anthropic_server, on=on)
