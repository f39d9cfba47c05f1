"""Tools run while streaming, as they do in generate(), through the real SDKs.

The wire servers ask for a tool on the first round and answer with its result on the
second, streaming tool calls in each vendor's own SSE shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pepperpy import PepperPy

VendorServer = tuple[str, Any]


async def test_generate_and_stream_call_the_tool_once_and_return_the_final_text(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"sunny in {city}"

    async with make_pepper(vendor, server) as pepper:
        result = await pepper.chat.with_user("Weather?").with_tools([get_weather]).generate()
        assert calls == ["text"]
        chunks = [c async for c in
                  pepper.chat.with_user("Weather?").with_tools([get_weather]).stream()]

    assert calls == ["text", "text"]
    assert result.content == "tool said: sunny in text"
    assert "".join(c.content for c in chunks) == "tool said: sunny in text"
    kinds = [c.kind for c in chunks if c.kind != "text"]
    assert kinds == ["tool_calls", "tool_result"]
    call_chunk = next(c for c in chunks if c.kind == "tool_calls")
    assert call_chunk.tool_calls[0].name == "get_weather"
    assert call_chunk.tool_calls[0].arguments == {"city": "text"}
    result_chunk = next(c for c in chunks if c.kind == "tool_result")
    assert result_chunk.metadata["result"] == "sunny in text"
    assert result_chunk.metadata["is_error"] is False
    assert chunks[-1].finish_reason == "stop"
    streamed = [r.body for r in server.requests[2:]]
    assert [b.get("stream") for b in streamed] == [True, True]
    assert "sunny in text" in str(streamed[1]["messages"][-1])


async def test_a_streamed_two_step_chain_feeds_one_tools_output_into_the_next(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server

    def lookup(word: str) -> str:
        """Look a word up."""
        return f"meaning-of-{word}"

    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    async with make_pepper(vendor, server, model="tool-chain") as pepper:
        chat = pepper.chat.with_user("go").with_tools([lookup, shout])
        chunks = [c async for c in chat.stream()]

    text = "".join(c.content for c in chunks)
    assert text == "Calling lookup.Calling shout.tool said: MEANING-OF-TEXT"
    results = [c.metadata["result"] for c in chunks if c.kind == "tool_result"]
    assert results == ["meaning-of-text", "MEANING-OF-TEXT"]
    assert len(server.requests) == 3


async def test_a_stream_that_never_stops_calling_tools_raises_after_max_rounds(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    import pytest

    from pepperpy import ProviderError

    vendor, server = vendor_server

    def ping() -> str:
        """Ping."""
        return "pong"

    async with make_pepper(vendor, server, model="tool-loop") as pepper:
        chat = pepper.chat.with_user("go").with_tools([ping], max_rounds=2)
        with pytest.raises(ProviderError, match=r"after 2 round.*max_rounds"):
            [c async for c in chat.stream()]
    assert len(server.requests) == 3
