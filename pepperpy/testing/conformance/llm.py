"""The LLM contract: what the chat builder relies on from ``generate`` and streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pepperpy.core import PepperpyError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    ResponseFormat,
    Tool,
    Usage,
)
from pepperpy.testing.conformance._rules import Harness, describe, rule_list
from pepperpy.testing.conformance.common import shared_rules

__all__ = ["LLM_RULES"]

HELLO = [
    Message(MessageRole.SYSTEM, "You are a terse assistant."),
    Message(MessageRole.USER, "Say hello in one word."),
]
OPTIONS = GenerationOptions(max_tokens=16, temperature=0.0)
WEATHER = Tool(
    "get_weather",
    "The current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ANSWER = ResponseFormat(
    "answer",
    {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
     "additionalProperties": False},
)


async def _generate(provider: LLMProvider, options: GenerationOptions = OPTIONS) -> Any:
    return await provider.generate(HELLO, options)


async def _stream(h: Harness, provider: LLMProvider) -> list[Any]:
    stream = provider.generate_stream(HELLO, OPTIONS)
    h.check(hasattr(stream, "__aiter__"),
            f"generate_stream() returned {type(stream).__name__}, not an async iterator")
    return [chunk async for chunk in stream]


rules, rule = rule_list()


@rule("llm.generate.result",
      "generate() returns a GenerationResult whose content is a str, non-empty unless "
      "the model called tools",
      "return GenerationResult(content=text, ...) with the model's answer")
async def _result(h: Harness) -> None:
    result = await _generate(await h.open())
    h.check(isinstance(result, GenerationResult),
            f"generate() returned {type(result).__name__}")
    h.check(isinstance(result.content, str), f"content is {type(result.content).__name__}")
    h.check(result.content or result.tool_calls, "empty content and no tool calls")


@rule("llm.generate.usage",
      "generate() reports token usage: a Usage with non-negative int counts",
      "fill GenerationResult(usage=Usage(prompt_tokens=..., completion_tokens=...)) from "
      "what the backend reports (count tokens yourself if it reports none)")
async def _usage(h: Harness) -> None:
    result = await _generate(await h.open())
    usage = result.usage
    h.check(isinstance(usage, Usage), f"usage is {usage!r}")
    counts = (usage.prompt_tokens, usage.completion_tokens)
    h.check(all(isinstance(c, int) and c >= 0 for c in counts), f"usage counts {counts!r}")


@rule("llm.stream.yields_chunks",
      "generate_stream() is an async generator that yields at least one GenerationChunk",
      "write generate_stream as `async def ...: yield GenerationChunk(...)` and yield the "
      "answer's text (even a backend without streaming can yield it as one chunk)")
async def _stream_yields(h: Harness) -> None:
    chunks = await _stream(h, await h.open())
    h.check(chunks, "the stream yielded nothing")
    bad = [type(c).__name__ for c in chunks if not isinstance(c, GenerationChunk)]
    h.check(not bad, f"the stream yielded {', '.join(sorted(set(bad)))}")


@rule("llm.stream.final_chunk",
      "a stream ends with exactly one chunk that carries finish_reason, and it is the last",
      "yield GenerationChunk(content='', finish_reason='stop') (or 'length', 'tool_calls') "
      "once, after the text, and no finish_reason on the chunks before it")
async def _final(h: Harness) -> None:
    chunks = await _stream(h, await h.open())
    h.check(chunks, "the stream yielded nothing")
    finals = [i for i, c in enumerate(chunks) if getattr(c, "finish_reason", None)]
    h.check(len(finals) == 1, f"{len(finals)} chunks carry a finish_reason")
    h.check(finals[0] == len(chunks) - 1,
            f"the finish_reason is on chunk {finals[0] + 1} of {len(chunks)}")


@rule("llm.stream.text",
      "the streamed chunks add up to a non-empty answer (or the last chunk calls tools)",
      "put the answer's text in the chunks' content")
async def _stream_text(h: Harness) -> None:
    chunks = await _stream(h, await h.open())
    text = "".join(getattr(c, "content", "") or "" for c in chunks)
    h.check(isinstance(text, str) and (text or (chunks and chunks[-1].tool_calls)),
            "the chunks' content is empty")


@rule("llm.generate.conversation",
      "generate() accepts a multi-turn conversation (system, user, assistant, user)",
      "map every MessageRole to your backend's roles")
async def _conversation(h: Harness) -> None:
    history = [*HELLO, Message(MessageRole.ASSISTANT, "Hello."),
               Message(MessageRole.USER, "Again, please.")]
    result = await (await h.open()).generate(history, OPTIONS)
    h.check(isinstance(result, GenerationResult), f"generate() returned {result!r}")


@rule("llm.errors.bad_conversation",
      "a conversation with no user message gets an answer or a PepperpyError, "
      "never another exception",
      "check the messages you rely on and raise pepperpy.ValidationError naming the problem")
async def _no_user(h: Harness) -> None:
    provider = await h.open()
    try:
        await provider.generate([Message(MessageRole.SYSTEM, "Only a system prompt.")], OPTIONS)
    except PepperpyError:
        return
    except Exception as exc:
        h.fail(f"generate() raised {describe(exc)}")


@rule("llm.tools",
      "with options.tools, a provider declaring the `tools` feature returns tool calls "
      "naming a given tool with dict arguments; others answer or raise a PepperpyError",
      "send options.tools to the backend and turn its calls into ToolCall(id, name, "
      "arguments); if the backend cannot call tools, raise BadRequestError saying so")
async def _tools(h: Harness) -> None:
    provider = await h.open()
    options = GenerationOptions(max_tokens=64, tools=(WEATHER,))
    messages = [Message(MessageRole.USER, "What is the weather in Paris? Use the tool.")]
    try:
        result = await asyncio.wait_for(provider.generate(messages, options), 120)
    except PepperpyError as exc:
        h.check("tools" not in h.features, f"generate() with tools raised {describe(exc)}")
        return
    except Exception as exc:
        h.fail(f"generate() with tools raised {describe(exc)}")
    if "tools" not in h.features:
        return
    h.check(result.tool_calls, "no tool calls in the result")
    for call in result.tool_calls:
        h.check(call.name == WEATHER.name, f"a call to unknown tool {call.name!r}")
        h.check(isinstance(call.arguments, dict), f"arguments {call.arguments!r}")


@rule("llm.tools.stream",
      "with options.tools, a provider declaring the `tools` feature streams its tool "
      "calls too: a chunk (the last, with finish_reason) carries ToolCall objects naming "
      "a given tool with dict arguments; others stream or raise a PepperpyError",
      "collect the backend's streamed tool-call deltas and put the finished ToolCalls on "
      "the final chunk: GenerationChunk('', finish_reason=..., tool_calls=calls); a stream "
      "that drops them leaves chat.stream() and agents without their tools")
async def _tools_stream(h: Harness) -> None:
    provider = await h.open()
    options = GenerationOptions(max_tokens=64, tools=(WEATHER,))
    messages = [Message(MessageRole.USER, "What is the weather in Paris? Use the tool.")]

    async def collect() -> list[GenerationChunk]:
        return [chunk async for chunk in provider.generate_stream(messages, options)]

    try:
        chunks = await asyncio.wait_for(collect(), 120)
    except PepperpyError as exc:
        h.check("tools" not in h.features, f"generate_stream() with tools raised {describe(exc)}")
        return
    except Exception as exc:
        h.fail(f"generate_stream() with tools raised {describe(exc)}")
    if "tools" not in h.features:
        return
    calls = [call for chunk in chunks for call in chunk.tool_calls]
    h.check(calls, f"the stream of {len(chunks)} chunk(s) carried no tool calls, though "
                   "generate() calls tools")
    h.check(chunks[-1].finish_reason is not None, "the last chunk has no finish_reason")
    for call in calls:
        h.check(call.name == WEATHER.name, f"a streamed call to unknown tool {call.name!r}")
        h.check(isinstance(call.arguments, dict), f"streamed arguments {call.arguments!r}")


@rule("llm.structured_output",
      "with options.response_format, a provider declaring `structured_output` answers "
      "with a JSON object; others answer or raise a PepperpyError",
      "pass response_format.schema to the backend's JSON mode (the chat builder "
      "validates the answer), or raise BadRequestError if the backend has none")
async def _structured(h: Harness) -> None:
    provider = await h.open()
    options = GenerationOptions(max_tokens=64, response_format=ANSWER)
    try:
        result = await asyncio.wait_for(provider.generate(HELLO, options), 120)
    except PepperpyError as exc:
        h.check("structured_output" not in h.features,
                f"generate() with response_format raised {describe(exc)}")
        return
    except Exception as exc:
        h.fail(f"generate() with response_format raised {describe(exc)}")
    if "structured_output" not in h.features:
        return
    try:
        value = json.loads(result.content)
    except ValueError:
        h.fail(f"content is not JSON: {result.content[:80]!r}")
    h.check(isinstance(value, dict), f"content is JSON {type(value).__name__}, not an object")


LLM_RULES = (*rules, *shared_rules("llm", _generate))
