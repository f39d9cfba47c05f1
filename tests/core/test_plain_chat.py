"""A chat that offers no tool skips the tool loop: what it returns, streams and stores is
the same as the loop's when the model's tool calls are left to the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pepperpy import Message, MessageRole, PepperPy
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Tool,
    ToolCall,
    Usage,
)
from pepperpy_testing import fake_registry

CALL = ToolCall("call_9", "lookup", {"word": "fox"})
#: offered with no function: its calls are the caller's, so the loop ends at once
HANDS_OFF = Tool("lookup", "Look a word up.", {"type": "object", "properties": {}})


class CallsFirst(LLMProvider):
    """Streams its tool-call chunk before the text (SDKs send it last): the chat moves
    it to the end, loop or not."""

    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        return GenerationResult(content="see the tool", tool_calls=(CALL,),
                                finish_reason="tool_calls", model="m", usage=Usage(5, 3))

    async def generate_stream(self, messages: Sequence[Message], options: GenerationOptions
                              ) -> AsyncIterator[GenerationChunk]:
        yield GenerationChunk("see ", tool_calls=(CALL,), finish_reason="tool_calls")
        yield GenerationChunk("the ")
        yield GenerationChunk("tool", usage=Usage(5, 3))


def app() -> PepperPy:
    registry = fake_registry()
    registry.register("llm", "calls-first", CallsFirst)
    return PepperPy(registry=registry).with_llm("calls-first", model="m").with_storage("memory")


def shown(chunk: GenerationChunk) -> tuple[Any, ...]:
    return (chunk.content, chunk.finish_reason, chunk.tool_calls, chunk.usage, chunk.provider,
            chunk.kind, chunk.metadata)


async def run(tools: Sequence[Tool]) -> tuple[Any, ...]:
    async with app() as pepper:
        def chat(conversation: str) -> Any:
            builder = pepper.chat.with_system("s").with_user("define fox")
            if tools:
                builder = builder.with_tools(tools)
            return builder.in_conversation(conversation)

        result = await chat("g").generate()
        chunks = [shown(c) async for c in chat("s").stream()]
        stored = (await pepper.history("g"), await pepper.history("s"))
        usage = pepper.usage.total
    return (result.content, result.tool_calls, result.finish_reason, result.provider,
            result.model, result.usage, result.messages, chunks, stored,
            (usage.requests, usage.input_tokens, usage.output_tokens))


async def test_no_tools_gives_what_the_tool_loop_gives() -> None:
    plain, looped = await run(()), await run((HANDS_OFF,))
    assert plain == looped
    content, calls, _, provider, _, _, messages, chunks, stored, usage = plain
    assert (content, calls, provider) == ("see the tool", (CALL,), "calls-first")
    assert messages[-1] == Message(MessageRole.ASSISTANT, "see the tool", tool_calls=(CALL,))
    # the chunk with the calls comes last, after the text that followed it
    assert [c[0] for c in chunks] == ["the ", "tool", "see "]
    assert chunks[-1][2] == (CALL,)
    # history: the user turn and the whole answer with its calls, no system prompt
    for turns in stored:
        assert turns == [Message(MessageRole.USER, "define fox"),
                         Message(MessageRole.ASSISTANT, "see the tool", tool_calls=(CALL,))]
    assert usage == (2, 10, 6)


async def test_a_plain_stream_without_history_passes_every_chunk() -> None:
    async with app() as pepper:
        chunks = [c async for c in pepper.chat.with_user("define fox").stream()]
    assert [c.content for c in chunks] == ["the ", "tool", "see "]
    assert [c.provider for c in chunks] == ["calls-first"] * 3


async def test_a_plain_stream_read_from_the_built_layer_passes_the_calls_last() -> None:
    from pepperpy.reliability.layer import ReliableLLM

    async with app() as pepper:
        first = [shown(c) async for c in pepper.chat.with_user("define fox").stream()]
        stream = pepper.chat.with_user("define fox").stream()
        assert stream.ag_code is ReliableLLM._stream.__code__  # type: ignore[attr-defined]
        again = [shown(c) async for c in stream]
        timed = [shown(c) async for c in pepper.chat.with_user("define fox").with_timeout(9)
                 .with_temperature(0.5).stream()]
    assert first == again == timed
    assert [c[0] for c in again] == ["the ", "tool", "see "]
    assert again[-1][2] == (CALL,)
