"""Anthropic Claude models through the official ``anthropic`` SDK (Messages API).

Mapping (PepperPy -> wire):
- system messages are joined into the top-level ``system`` field, never sent as turns;
- consecutive messages of one role are merged (the API wants alternating turns);
- assistant tool calls become ``tool_use`` blocks, tool results become ``tool_result``
  blocks inside a user turn;
- structured output is a forced tool (``tool_choice`` ``{"type": "tool"}``) whose
  input is returned as the JSON ``content`` (streamed as text too);
- ``stop_reason`` is normalised to OpenAI's words (``stop``, ``tool_calls``,
  ``length``) and kept raw in ``metadata["stop_reason"]``. ``seed`` is not supported
  by the API and is ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import anthropic

from pepperpy.core import ProviderError, ValidationError
from pepperpy.http_errors import dropped, transport_errors
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    ToolCall,
    Usage,
)

try:
    from pepperpy.llm import text_chunk
except ImportError:  # a runtime from before text_chunk: the same chunk, built plainly
    def text_chunk(content: str, provider: str | None) -> GenerationChunk:  # type: ignore[misc]
        return GenerationChunk(content, provider=provider)

from ._errors import translate_error

__all__ = ["AnthropicProvider"]

_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
           "max_tokens": "length"}


class AnthropicProvider(LLMProvider):
    """``with_llm("anthropic", api_key=..., model=..., max_tokens=...)``."""

    accepts_images: ClassVar[bool] = True  # sent as base64 image blocks

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        max_tokens: int = 1024,
        base_url: str | None = None,
        timeout: float = 60.0,
        temperature: float | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key, model=model, max_tokens=max_tokens, base_url=base_url,
            timeout=timeout, temperature=temperature,
        )
        self._client: anthropic.AsyncAnthropic | None = None

    async def initialize(self) -> None:
        c = self.config
        self._client = self.close_on_cleanup(anthropic.AsyncAnthropic(
            api_key=c["api_key"],
            base_url=c.get("base_url"),
            timeout=float(c["timeout"]),
            max_retries=0,  # PepperPy's retry policy retries, above every provider
        ))
        await super().initialize()

    # -- generation -----------------------------------------------------------------
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        params, forced = self._params(messages, options)
        # the client once initialized (_require_client's check, inline: every request)
        client = self._client if self.initialized else self._require_client()
        try:
            reply = await client.messages.create(**params)  # type: ignore[union-attr]
        except anthropic.AnthropicError as exc:
            raise self._translate(exc, params["model"]) from exc
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in reply.content:
            if block.type == "text":
                if not isinstance(block.text, str):
                    raise _broken(f"sent a text block that is not text "
                                  f"({type(block.text).__name__})")
                texts.append(block.text)
            elif block.type == "tool_use" and block.name == forced:
                texts = [json.dumps(_unwrap(block.input, options))]
            elif block.type == "tool_use":
                data = {} if block.input is None else block.input
                if not isinstance(data, dict):
                    raise _broken(f"sent input for tool {block.name!r} that is not an object "
                                  f"({type(data).__name__})")
                calls.append(ToolCall(block.id, block.name, data))
        stop, usage = reply.stop_reason, reply.usage
        finish = "stop" if forced and stop == "tool_use" else _FINISH.get(stop or "", stop)
        # Positional (content, messages, tool_calls, finish_reason, model, usage,
        # metadata): a class called with keywords costs about twice as much.
        return GenerationResult(
            "".join(texts), [], tuple(calls), finish, reply.model,
            _usage(usage.input_tokens, usage.output_tokens),
            {"id": reply.id, "stop_reason": stop},
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        params, forced = self._params(messages, options)
        params["stream"] = True
        tools: dict[int, dict[str, Any]] = {}
        stop: str | None = None
        prompt = completion = 0
        name = self.provider_name  # tagged here, the layer passes the chunks through
        # Whether the forced tool's JSON is the answer as it streams: read once, not per event.
        echo = forced is not None and not _wrapped(options)
        try:
            stream = await self._require_client().messages.create(**params)
            try:
                # Text deltas are nearly every event: they take the first branch and build
                # their chunk with text_chunk, the cheapest way, once per event.
                async for event in stream:
                    kind = event.type
                    if kind == "content_block_delta":
                        delta = event.delta
                        part = delta.type
                        if part == "text_delta":
                            text = delta.text
                            if text.__class__ is not str:  # the SDK does not check it
                                raise _not_text(text)
                            yield text_chunk(text, name)
                        elif part == "input_json_delta" and event.index in tools:
                            block = tools[event.index]
                            if echo and block["name"] == forced:
                                if delta.partial_json.__class__ is not str:
                                    raise _not_text(delta.partial_json)
                                yield text_chunk(delta.partial_json, name)
                            block["json"].append(delta.partial_json)
                    elif kind == "content_block_start" and event.content_block.type == "tool_use":
                        cb = event.content_block
                        tools[event.index] = {"id": cb.id, "name": cb.name, "json": []}
                    elif kind == "message_start":
                        prompt = event.message.usage.input_tokens or 0
                        completion = event.message.usage.output_tokens or 0
                    elif kind == "message_delta":
                        stop = event.delta.stop_reason or stop
                        completion = event.usage.output_tokens or completion
            finally:
                await stream.close()
        except anthropic.AnthropicError as exc:
            raise self._translate(exc, params["model"]) from exc
        except transport_errors() as exc:  # the SDK lets these escape mid-stream
            raise dropped("anthropic") from exc
        content, calls = "", []
        for _, block in sorted(tools.items()) if tools else ():
            data = _streamed_input(block["name"], block["json"])
            if block["name"] == forced:
                if _wrapped(options):
                    content = json.dumps(_unwrap(data, options))
            else:
                calls.append(ToolCall(block["id"], block["name"], data))
        finish = "stop" if forced and stop == "tool_use" else _FINISH.get(stop or "", stop)
        yield GenerationChunk(content, finish or "stop", tuple(calls), _usage(prompt, completion),
                              {"stop_reason": stop}, name)  # positional: cheaper than keywords

    # -- mapping --------------------------------------------------------------------
    def _params(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> tuple[dict[str, Any], str | None]:
        """The request body, and the name of the forced structured-output tool if any."""
        system: list[str] = []
        turns: list[Message] = []
        for m in messages:  # one pass, no comprehension frames: every request runs it
            if m.role is MessageRole.SYSTEM:
                system.append(m.content)
            else:
                turns.append(m)
        params: dict[str, Any] = {
            "model": options.model or self.config["model"],
            "max_tokens": options.max_tokens or self.config["max_tokens"],
            "messages": _wire_messages(turns),
        }
        if system and (joined := "\n\n".join(system)):
            params["system"] = joined
        temperature = (
            options.temperature if options.temperature is not None
            else self.config.get("temperature")
        )
        if temperature is not None:
            # Recent SDKs dropped sampling keywords from create(); the API still takes
            # the field on models that support it, so send it as a raw body field.
            params["extra_body"] = {"temperature": min(float(temperature), 1.0)}  # 0..1
        if options.top_p is not None:
            params.setdefault("extra_body", {})["top_p"] = options.top_p
        if options.stop:
            params["stop_sequences"] = list(options.stop)
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                 for t in options.tools] if options.tools else []
        forced = None
        if options.response_format is not None:
            forced = re.sub(r"[^a-zA-Z0-9_-]", "_", options.response_format.name)[:64] or "response"
            schema = options.response_format.schema
            if _wrapped(options):
                schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
            tools.append({"name": forced, "input_schema": schema,
                          "description": "Answer by calling this tool with the requested JSON."})
            params["tool_choice"] = {"type": "tool", "name": forced}
        if tools:
            params["tools"] = tools
        return params, forced

    def _require_client(self) -> anthropic.AsyncAnthropic:
        self.require_initialized()
        assert self._client is not None
        return self._client

    def _translate(self, exc: anthropic.AnthropicError, model: str) -> ProviderError:
        return translate_error(exc, model=model, secret=self.config.get("api_key"))


def _broken(what: str) -> ProviderError:
    """The server sent a value of the wrong type, which the SDK passes on unchecked."""
    return ProviderError(f"anthropic {what}; the server (or the gateway at base_url) "
                         "is broken: retry, or use another provider", provider="anthropic")


def _not_text(value: Any) -> ProviderError:
    return _broken(f"streamed a text piece that is not text ({type(value).__name__})")


def _usage(prompt: Any, completion: Any) -> Usage:
    """Usage from the server's counts, once per request: whole numbers or a ProviderError."""
    if prompt.__class__ is not int or completion.__class__ is not int:
        raise _broken(f"sent usage counts that are not whole numbers ({type(prompt).__name__}, "
                      f"{type(completion).__name__})")
    return Usage(prompt, completion)


def _streamed_input(name: str, pieces: list[Any]) -> Any:
    """A tool's input, from the ``input_json_delta`` pieces the server streamed; pieces
    that do not join to JSON are the server's failure (a ``ProviderError``, as for
    openai), never a ``JSONDecodeError`` or ``TypeError`` from inside the plugin."""
    try:
        return json.loads("".join(pieces) or "{}")
    except (ValueError, TypeError, RecursionError) as exc:
        raise ProviderError(
            f"anthropic streamed input for tool {name!r} that is not JSON; retry, or "
            "describe the tool's parameters more precisely",
            provider="anthropic",
        ) from exc


def _wrapped(options: GenerationOptions) -> bool:
    """Tool inputs must be objects; other schemas are wrapped in ``{"value": ...}``."""
    fmt = options.response_format
    return fmt is not None and fmt.schema.get("type", "object") != "object"


def _unwrap(data: Any, options: GenerationOptions) -> Any:
    return data.get("value") if _wrapped(options) and isinstance(data, dict) else data


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Turn PepperPy messages into alternating user/assistant turns of content blocks."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        kind = message.role
        plain = kind is MessageRole.USER or (
            kind is MessageRole.ASSISTANT and not message.tool_calls)
        if plain and message.content and not message.images:  # plain text: no _blocks call
            role = "user" if kind is MessageRole.USER else "assistant"
            blocks = [{"type": "text", "text": message.content}]
        else:
            role, blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:  # plain text turns as plain strings: what most callers send
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return turns


def _blocks(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if message.role is MessageRole.TOOL:
        if not message.tool_call_id:
            raise ValidationError(
                "a tool message needs tool_call_id (the id of the ToolCall it answers)"
            )
        return "user", [{"type": "tool_result", "tool_use_id": message.tool_call_id,
                         "content": message.content}]
    blocks: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": image.media_type,
                                     "data": image.base64()}}
        for image in message.images] if message.images else []  # images first, as advised
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    if message.role is MessageRole.ASSISTANT:
        blocks.extend({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                      for c in message.tool_calls)
        return "assistant", blocks
    return "user", blocks
