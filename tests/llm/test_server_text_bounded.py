"""Text the server chose (a tool name, a tool call's id, the model it names, its finish
reason) never reaches an error message, a tool result sent back to the model or a span
whole: a hostile or broken server, or a prompt-injected model, can put a megabyte there,
or the API key it was sent. What is shown is redacted (where the key is known) and cut
to length; where the name is looked up, the lookup stays exact."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pepperpy import PepperPy
from pepperpy.core import ProviderError
from pepperpy.llm import GenerationOptions, Tool, ToolCall
from pepperpy.openai_compatible.chat import OpenAIChatProvider
from pepperpy.reliability.tracing import Tracing
from pepperpy.tools import ToolRunner
from tests.llm.conftest import API_KEY
from tests.llm.test_anthropic_reads_the_wire import (
    _delta,
    _hello,
    _json_piece,
    _Script,
    _sse,
    _tool_start,
)
from tests.llm.test_openai_read_wire import HI, _Scripted

MEGABYTE = "x" * 1_000_000
#: The key inside a name, and a megabyte ending with the key (a cut alone would hide it).
NAMES = [pytest.param(f"lookup_{API_KEY}", id="the-api-key"),
         pytest.param(MEGABYTE + API_KEY, id="a-megabyte")]
#: The message still names the tool, by its first characters.
SHOWN = "for tool '(lookup_\\*\\*\\*|x{100}\\.\\.\\.)'"


def _clean(error: BaseException | str) -> None:
    """What is shown holds neither the key nor the megabyte."""
    text = str(error)
    assert API_KEY not in text
    assert len(text) < 600, len(text)


async def _openai(server: _Scripted, *, stream: bool) -> None:
    provider = OpenAIChatProvider(api_key=API_KEY, model="m", base_url=server.url + "/v1")
    await provider.initialize()
    try:
        if stream:
            async for _ in provider.generate_stream(HI, GenerationOptions()):
                pass
        else:
            await provider.generate(HI, GenerationOptions())
    finally:
        await provider.cleanup()


def _openai_answer(name: str, arguments: Any) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": name, "arguments": arguments}}]}}]}


def _openai_stream(name: str, arguments: Any) -> bytes:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": name, "arguments": ""}}]}}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": arguments}}]}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


@pytest.mark.parametrize("name", NAMES)
async def test_openai_generate_arguments_not_json_do_not_repeat_the_tool_name(name: str) -> None:
    with _Scripted() as server:
        server.answer(_openai_answer(name, "{not json"))
        with pytest.raises(ProviderError, match=SHOWN) as caught:
            await _openai(server, stream=False)
    _clean(caught.value)
    assert "***" in str(caught.value) or "..." in str(caught.value)


@pytest.mark.parametrize("arguments", [pytest.param(5, id="piece-not-text"),
                                       pytest.param("{not json", id="not-json")])
@pytest.mark.parametrize("name", NAMES)
async def test_openai_stream_tool_errors_do_not_repeat_the_tool_name(
    name: str, arguments: Any
) -> None:
    with _Scripted() as server:
        server.stream(_openai_stream(name, arguments))
        with pytest.raises(ProviderError, match=SHOWN) as caught:
            await _openai(server, stream=True)
    _clean(caught.value)


@pytest.mark.parametrize("name", NAMES)
async def test_anthropic_generate_a_tool_input_error_does_not_repeat_the_tool_name(
    make_pepper: Callable[..., PepperPy], name: str
) -> None:
    with _Script() as server:
        server.answer = {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": name, "input": [1]}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}}
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match=SHOWN) as caught:
                await pepper.chat.with_user("hi").generate()
    _clean(caught.value)


@pytest.mark.parametrize("piece", [pytest.param("[1]", id="not-an-object"),
                                   pytest.param("{not json", id="not-json")])
@pytest.mark.parametrize("name", NAMES)
async def test_anthropic_stream_tool_input_errors_do_not_repeat_the_tool_name(
    make_pepper: Callable[..., PepperPy], name: str, piece: str
) -> None:
    with _Script() as server:
        server.pieces = [*_hello(), _sse("content_block_start", _tool_start(1, "toolu_1", name)),
                         _sse("content_block_delta", _json_piece(1, piece)),
                         _sse("message_delta", _delta("tool_use")),
                         _sse("message_stop", {"type": "message_stop"})]
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match=SHOWN) as caught:
                [c async for c in pepper.chat.with_user("hi").stream()]
    _clean(caught.value)


def _lookup(city: str = "") -> str:
    return f"sunny in {city}"


TOOL = Tool("lookup", "Look up the weather", {"type": "object"}, function=_lookup)


async def test_a_tool_name_never_offered_is_answered_without_repeating_it_whole() -> None:
    """The answer goes back into the prompt, and into the run's steps; it is not cut as
    a tool's own result is. A name that is one character off an offered one still finds
    nothing: the lookup is exact."""
    runner = ToolRunner([TOOL])
    result = await runner.call(ToolCall("call_1", MEGABYTE, {}))
    assert result.is_error and "there is no tool named 'xxx" in result.content
    assert len(result.content) < 300, len(result.content)
    for near in ("lookup ", "Lookup", "lookup\x00"):
        missed = await runner.call(ToolCall("call_2", near, {}))
        assert missed.is_error and repr(near) in missed.content
    found = await runner.call(ToolCall("call_3", "lookup", {"city": "Oslo"}))
    assert not found.is_error and found.content == "sunny in Oslo"


async def test_a_tool_calls_id_reaches_its_span_bounded() -> None:
    exporter = InMemorySpanExporter()
    spans = TracerProvider()
    spans.add_span_processor(SimpleSpanProcessor(exporter))
    runner = ToolRunner([TOOL], tracing=Tracing(tracer_provider=spans))
    result = await runner.call(ToolCall(MEGABYTE, "lookup", {"city": "Oslo"}))
    assert result.content == "sunny in Oslo"
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.tool.name"] == "lookup"
    shown = span.attributes["gen_ai.tool.call.id"]
    assert isinstance(shown, str) and shown.startswith("xxx") and len(shown) <= 110


async def test_the_model_and_finish_reason_the_server_names_reach_the_span_bounded(
    make_pepper: Callable[..., PepperPy]
) -> None:
    """The answer keeps what the server sent (it is the caller's data); the span, which
    goes to whatever collector the application exports to, carries at most 300
    characters of each."""
    exporter = InMemorySpanExporter()
    spans = TracerProvider()
    spans.add_span_processor(SimpleSpanProcessor(exporter))
    with _Script() as server:
        server.answer = {
            "id": "msg_1", "type": "message", "role": "assistant", "model": MEGABYTE,
            "content": [{"type": "text", "text": "Hi"}], "stop_reason": "y" * 100_000,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
        pepper = make_pepper("anthropic", server).with_tracing(tracer_provider=spans)
        async with pepper:
            reply = await pepper.chat.with_user("hi").generate()
    assert reply.model == MEGABYTE
    (span,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert span.attributes is not None
    model = span.attributes["gen_ai.response.model"]
    (finish,) = span.attributes["gen_ai.response.finish_reasons"]  # type: ignore[misc]
    assert isinstance(model, str) and model.startswith("xxx") and len(model) <= 310
    assert isinstance(finish, str) and finish.startswith("yyy") and len(finish) <= 310
