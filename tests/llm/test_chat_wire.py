"""openai, openrouter and anthropic through the fluent API, against wire-level fakes.

Every test checks both sides: what the vendor's server received, and what the user
got back. Vendor-specific wire details live in test_openai_wire / test_anthropic_wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pydantic

from pepperpy import GenerationChunk, PepperPy, Tool

VendorServer = tuple[str, Any]


def _user_text(vendor: str, body: dict[str, Any]) -> str:
    """The text of the last user turn, however the vendor encodes it."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content if b.get("type") == "text")


async def test_generate_sends_model_and_messages(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server, model="cfg-model") as pepper:
        result = await pepper.chat.with_system("Be brief.").with_user("Hello there").generate()

    body = server.last().body
    assert body["model"] == "cfg-model"
    assert _user_text(vendor, body) == "Hello there"
    assert "stream" not in body or body["stream"] is False
    assert result.content == "Echo: Hello there"
    assert result.finish_reason == "stop"
    assert result.model == "cfg-model"
    assert result.usage is not None and result.usage.prompt_tokens > 0
    assert result.usage.completion_tokens == 3


async def test_chat_options_reach_the_server(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server) as pepper:
        await (
            pepper.chat.with_user("hi").with_model("override").with_temperature(0.5)
            .with_max_tokens(77).with_options(stop=("END",)).generate()
        )
    body = server.last().body
    assert body["model"] == "override"
    assert body["temperature"] == 0.5
    assert body["max_tokens"] == 77
    assert body["stop_sequences" if vendor == "anthropic" else "stop"] == ["END"]


async def test_stream_yields_several_chunks(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server) as pepper:
        chunks = [c async for c in pepper.chat.with_user("one two three four").stream()]

    assert server.last().body["stream"] is True
    assert all(isinstance(c, GenerationChunk) for c in chunks)
    assert len([c for c in chunks if c.content]) >= 4
    assert "".join(c.content for c in chunks) == "Echo: one two three four"
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens == 5
    assert all(c.finish_reason is None for c in chunks[:-1])


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


async def test_tool_call_round_trip(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server) as pepper:
        chat = pepper.chat.with_user("Weather in Paris?").with_tools([get_weather])
        result = await chat.generate()

    first, second = [r.body for r in server.requests]
    if vendor == "anthropic":
        assert first["tools"][0]["name"] == "get_weather"
        assert first["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
        assistant, tool_turn = second["messages"][1:]
        assert assistant == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
             "input": {"city": "text"}}]}
        assert tool_turn == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny in text"}]}
    else:
        function = first["tools"][0]["function"]
        assert first["tools"][0]["type"] == "function"
        assert function["name"] == "get_weather"
        assert function["description"] == "Current weather for a city."
        assistant, tool_turn = second["messages"][1:]
        assert assistant["role"] == "assistant"
        assert assistant["tool_calls"] == [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "text"})}}]
        assert tool_turn == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in text"}
    assert result.content == "tool said: sunny in text"
    assert [m.role.value for m in result.messages] == ["user", "assistant", "tool", "assistant"]


async def test_tool_calls_returned_when_no_function(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    schema = {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
              "required": ["q", "n"]}
    tool = Tool("search", "Search the web.", schema)
    async with make_pepper(vendor, server) as pepper:
        result = await pepper.chat.with_user("find it").with_tools([tool]).generate()
        chunks = [c async for c in pepper.chat.with_user("find it").with_tools([tool]).stream()]

    assert len(server.requests) == 2
    for calls in (result.tool_calls, chunks[-1].tool_calls):
        assert len(calls) == 1
        assert calls[0].name == "search"
        assert calls[0].arguments == {"q": "text", "n": 42}
        assert calls[0].id
    assert result.finish_reason == chunks[-1].finish_reason == "tool_calls"


class City(pydantic.BaseModel):
    name: str
    population: int
    coastal: bool


async def test_structured_output_pydantic(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    async with make_pepper(vendor, server) as pepper:
        result = await pepper.chat.with_user("Describe Lisbon").with_schema(City).generate()

    assert result.parsed == City(name="text", population=42, coastal=True)
    assert json.loads(result.content) == {"name": "text", "population": 42, "coastal": True}
    assert result.tool_calls == ()
    body = server.last().body
    if vendor == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "City"}
        assert body["tools"][-1]["input_schema"]["properties"].keys() == {
            "name", "population", "coastal"}
        assert result.finish_reason == "stop"
    else:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == "City"
        assert fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["additionalProperties"] is False


async def test_structured_output_streams_json(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    schema = {"type": "object", "properties": {"tags": {"type": "array",
              "items": {"type": "string"}}}, "required": ["tags"]}
    async with make_pepper(vendor, server) as pepper:
        chunks = [c async for c in pepper.chat.with_user("tags").with_schema(schema).stream()]
    assert json.loads("".join(c.content for c in chunks)) == {"tags": ["text"]}
    assert len([c for c in chunks if c.content]) >= 2
    assert chunks[-1].tool_calls == ()


async def test_non_object_schema(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    schema = {"type": "array", "items": {"type": "integer"}}
    async with make_pepper(vendor, server) as pepper:
        result = await pepper.chat.with_user("numbers").with_schema(schema).generate()
    assert result.parsed == [42]


async def test_non_object_schema_streams(
    make_pepper: Callable[..., PepperPy], vendor_server: VendorServer
) -> None:
    vendor, server = vendor_server
    schema = {"type": "array", "items": {"type": "integer"}}
    async with make_pepper(vendor, server) as pepper:
        chunks = [c async for c in pepper.chat.with_user("numbers").with_schema(schema).stream()]
    assert json.loads("".join(c.content for c in chunks)) == [42]
    sent = server.last().body
    wire = sent["tools"][-1]["input_schema"] if vendor == "anthropic" else (
        sent["response_format"]["json_schema"]["schema"])
    assert wire["type"] == "object" and wire["properties"]["value"] == schema
