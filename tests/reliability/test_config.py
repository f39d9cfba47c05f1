"""Bad retry settings and SDK-level retries are refused at configuration time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pepperpy import ConfigurationError, PepperPy
from pepperpy_testing.wire import OpenAIServer


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        pytest.param({"attempts": 0}, "attempts", id="zero-attempts"),
        pytest.param({"attempts": -3}, "attempts", id="negative-attempts"),
        pytest.param({"attempts": 1000}, "attempts", id="absurd-attempts"),
        pytest.param({"attempts": 2.5}, "attempts", id="fractional-attempts"),
        pytest.param({"attempts": True}, "attempts", id="bool-attempts"),
        pytest.param({"backoff": -1}, "backoff", id="negative-backoff"),
        pytest.param({"backoff": float("inf")}, "backoff", id="infinite-backoff"),
        pytest.param({"backoff": 3600}, "backoff", id="absurd-backoff"),
        pytest.param({"max_wait": -0.5}, "max_wait", id="negative-max-wait"),
        pytest.param({"max_wait": float("nan")}, "max_wait", id="nan-max-wait"),
        pytest.param({"jitter": "yes"}, "jitter", id="jitter-not-bool"),
    ],
)
def test_absurd_retry_numbers(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    settings: dict[str, object], named: str,
) -> None:
    with pytest.raises(ConfigurationError, match=rf"with_retry\(\): {named}"):
        pepper_for("openai", openai_server).with_retry(**settings)  # type: ignore[arg-type]


def test_sdk_retries_are_not_a_provider_option(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    with pytest.raises(ConfigurationError, match=r"with_retry\(attempts=N\)"):
        pepper_for("openai", openai_server, max_retries=2)


def test_with_retry_attempts_1_means_no_retries(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    from pepperpy.core import ServerError
    from pepperpy.reliability.retry import RetryPolicy

    policy = RetryPolicy(attempts=1)
    assert policy.wait(1, ServerError("x")) is None
    policy = RetryPolicy(attempts=3, backoff=1, max_wait=1.5, jitter=False)
    assert [policy.wait(n, ServerError("x")) for n in (1, 2, 3)] == [1.0, 1.5, None]
    jittered = RetryPolicy(attempts=2, backoff=1)
    assert all(0.5 <= (jittered.wait(1, ServerError("x")) or 0) <= 1 for _ in range(50))
