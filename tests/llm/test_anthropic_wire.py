"""Anthropic-specific wire details: system field, headers, max_tokens, turns."""

from __future__ import annotations

from collections.abc import Callable

from pepperpy import Message, MessageRole, PepperPy, ToolCall
from pepperpy_testing.wire.anthropic import AnthropicServer
from tests.llm.conftest import API_KEY


async def test_system_goes_to_the_system_field(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    async with make_pepper("anthropic", anthropic_server, model=None) as pepper:
        await pepper.chat.with_system("Be brief.").with_system("Use French.").with_user(
            "hi").generate()
    request = anthropic_server.last()
    assert request.path == "/v1/messages"
    # Older SDKs send x-api-key, newer ones a bearer token: either carries our key.
    headers = request.headers
    assert API_KEY in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert "anthropic-version" in request.headers
    body = request.body
    assert body["system"] == "Be brief.\n\nUse French."
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 1024
    assert body["model"] == "claude-3-5-haiku-latest"


async def test_no_system_field_without_system_messages(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    async with make_pepper("anthropic", anthropic_server, max_tokens=200) as pepper:
        await pepper.chat.with_user("hi").generate()
    body = anthropic_server.last().body
    assert "system" not in body
    assert body["max_tokens"] == 200


async def test_temperature_is_capped_to_anthropics_range(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    async with make_pepper("anthropic", anthropic_server) as pepper:
        await pepper.chat.with_user("hi").with_temperature(1.7).generate()
    assert anthropic_server.last().body["temperature"] == 1.0


async def test_turns_are_merged_and_tool_results_grouped(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    calls = (ToolCall("toolu_a", "f", {"x": 1}), ToolCall("toolu_b", "g", {}))
    history = [
        Message(MessageRole.USER, "first"),
        Message(MessageRole.USER, "second"),
        Message(MessageRole.ASSISTANT, "calling", tool_calls=calls),
        Message(MessageRole.TOOL, "A", tool_call_id="toolu_a"),
        Message(MessageRole.TOOL, "B", tool_call_id="toolu_b"),
    ]
    async with make_pepper("anthropic", anthropic_server) as pepper:
        result = await pepper.chat.with_messages(history).generate()
    assert anthropic_server.last().body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"},
                                     {"type": "text", "text": "second"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {"x": 1}},
            {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "A"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "B"}]},
    ]
    assert result.content == "tool said: A B"
    assert result.metadata["stop_reason"] == "end_turn"


async def test_stream_reports_anthropic_usage(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    async with make_pepper("anthropic", anthropic_server) as pepper:
        chunks = [c async for c in pepper.chat.with_system("s p").with_user("a b c").stream()]
    last = chunks[-1]
    assert last.usage is not None
    assert last.usage.prompt_tokens == 5  # 3 message words + 2 system words
    assert last.usage.completion_tokens == 4
    assert last.metadata["stop_reason"] == "end_turn"


async def test_plain_text_turns_keep_their_shape(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    # Plain text messages skip the block builder: same turns, merged the same way.
    history = [
        Message(MessageRole.USER, "a"),
        Message(MessageRole.ASSISTANT, "b"),
        Message(MessageRole.ASSISTANT, "c"),
        Message(MessageRole.USER, "d"),
        Message(MessageRole.USER, ""),
    ]
    async with make_pepper("anthropic", anthropic_server) as pepper:
        await pepper.chat.with_messages(history).generate()
    assert anthropic_server.last().body["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "text", "text": "b"},
                                          {"type": "text", "text": "c"}]},
        {"role": "user", "content": "d"},
    ]
