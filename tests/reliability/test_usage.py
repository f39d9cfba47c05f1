"""Usage totals per provider and model, and cost from configured prices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pepperpy import ConfigurationError, PepperPy
from pepperpy_testing.wire import AnthropicServer, OpenAIServer
from tests.reliability.conftest import options

PRICES = {"openai-model": {"input": 1.0, "output": 2.0}}


async def test_tokens_requests_and_cost_per_provider_and_model(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    pepper = pepper_for("openai", openai_server, prices=PRICES)
    async with pepper:
        one = await pepper.chat.with_user("one two three").generate()
        chunks = [c async for c in pepper.chat.with_user("four five").stream()]
        other = await pepper.chat.with_model("second").with_user("six").generate()
    final = chunks[-1].usage
    assert one.usage is not None and final is not None and other.usage is not None
    row = pepper.usage.get("openai", "openai-model")
    assert (row.requests, row.retries, row.fallbacks, row.cache_hits) == (2, 0, 0, 0)
    assert row.input_tokens == one.usage.prompt_tokens + final.prompt_tokens
    assert row.output_tokens == one.usage.completion_tokens + final.completion_tokens
    assert row.cost == pytest.approx((row.input_tokens * 1.0 + row.output_tokens * 2.0) / 1e6)
    second = pepper.usage.get("openai", "second")
    assert second.requests == 1 and second.cost is None  # no price configured for it
    assert pepper.usage.total.requests == 3
    assert [(r.provider, r.model) for r in pepper.usage.rows()] == [
        ("openai", "openai-model"), ("openai", "second")]


async def test_a_fallbacks_prices_are_its_own(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
) -> None:
    from pepperpy_testing.wire import Fault

    openai_server.inject(then=Fault(status=500))
    pepper = pepper_for("openai", openai_server, prices=PRICES).with_fallback(
        "anthropic", **options("anthropic", anthropic_server,
                               prices={"anthropic-model": {"input": 10.0}}))
    async with pepper.with_retry(attempts=1) as pepper:
        result = await pepper.chat.with_user("a b c d").generate()
    row = pepper.usage.get("anthropic")
    assert result.usage is not None
    assert row.cost == pytest.approx(result.usage.prompt_tokens * 10.0 / 1e6)
    assert pepper.usage.get("openai").cost is None  # it answered nothing


@pytest.mark.parametrize(
    "prices",
    [
        pytest.param([1, 2], id="not-a-dict"),
        pytest.param({"m": 1.0}, id="flat-number"),
        pytest.param({"m": {"input": -1}}, id="negative"),
        pytest.param({"m": {"input": float("nan")}}, id="nan"),
        pytest.param({"m": {"prompt": 1.0}}, id="unknown-kind"),
    ],
)
def test_bad_prices(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer, prices: object
) -> None:
    with pytest.raises(ConfigurationError, match=r"prices=\{"):
        pepper_for("openai", openai_server, prices=prices)


def test_sync_calls_go_through_the_same_layer(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    from pepperpy_testing.wire import Fault

    openai_server.inject(Fault(status=503))
    with pepper_for("openai", openai_server) as pepper:
        result = pepper.chat.with_timeout(10).with_user("sync").generate_sync()
        chunks = pepper.chat.with_user("sync").stream_sync()
        vectors_error = None
        try:
            pepper.embed_sync(["x"])
        except ConfigurationError as exc:  # no embeddings configured: says the fix
            vectors_error = exc
    assert result.content == "Echo: sync" and result.provider == "openai"
    assert "".join(c.content for c in chunks) == "Echo: sync"
    assert pepper.usage.get("openai").retries == 1
    assert vectors_error is not None and "with_embeddings" in str(vectors_error)
