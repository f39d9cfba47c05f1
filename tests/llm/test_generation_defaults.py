"""``with_llm(name, max_tokens=..., temperature=..., top_p=..., stop=..., seed=...)``:
accepted by every LLM plugin with one meaning (the default of every request; the chat's
own setting wins), and sent on the wire as each API spells it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pepperpy import PepperPy, ValidationError
from pepperpy.testing.wire.base import LoopbackServer

DEFAULTS: dict[str, Any] = {"max_tokens": 64, "temperature": 0.3, "top_p": 0.9,
                            "stop": ["END"], "seed": 7}


def _sent(vendor: str, body: dict[str, Any]) -> dict[str, Any]:
    if vendor == "anthropic":
        extra = {**body, **body.get("extra_body", {})}
        return {"max_tokens": extra["max_tokens"], "temperature": extra.get("temperature"),
                "top_p": extra.get("top_p"), "stop": extra.get("stop_sequences")}
    return {k: body.get(k) for k in ("max_tokens", "temperature", "top_p", "stop", "seed")}


async def test_every_llm_plugin_takes_the_common_generation_options(
        make_pepper: Callable[..., PepperPy], vendor_server: tuple[str, LoopbackServer]
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server, **DEFAULTS) as pepper:
        await pepper.chat.with_user("hi").generate()
        expected = {"max_tokens": 64, "temperature": 0.3, "top_p": 0.9, "stop": ["END"],
                    "seed": 7}
        if vendor == "anthropic":  # Anthropic has no seed: ignored, as documented
            expected.pop("seed")
        assert _sent(vendor, server.last().body) == expected
        await pepper.chat.with_user("hi").with_max_tokens(5).with_temperature(1.0).generate()
        sent = _sent(vendor, server.last().body)
        assert sent["max_tokens"] == 5 and sent["temperature"] == 1.0  # the chat wins
        assert sent["top_p"] == 0.9


@pytest.mark.parametrize(("key", "value"), [
    ("max_tokens", 0), ("max_tokens", "64"), ("temperature", 3), ("top_p", 0),
    ("stop", [""]), ("seed", 1.5), ("max_tokens", True)])
def test_bad_generation_defaults_are_refused_with_the_rule(
        make_pepper: Callable[..., PepperPy], openai_server: LoopbackServer, key: str,
        value: Any) -> None:
    with pytest.raises(ValidationError, match=f"llm provider 'openai': {key} must be"):
        make_pepper("openai", openai_server, **{key: value})
