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
from pepperpy.http_errors import dropped, shown, timed_out, transport_errors
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

try:
    from pepperpy.sse import body_lines, server_sent_events
except ImportError as exc:  # a runtime from before pepperpy.sse: say what to do
    raise ImportError(
        "llm_anthropic_provider 1.1 reads answers with pepperpy.sse, which this PepperPy "
        "runtime does not have: upgrade PepperPy, or install llm_anthropic_provider==1.0.10"
    ) from exc

from ._errors import translate_error

__all__ = ["AnthropicProvider"]

#: The Messages API's event names: a message names an event only by one of these.
_EVENTS = frozenset({"message_start", "message_delta", "message_stop", "content_block_start",
                     "content_block_delta", "content_block_stop"})
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
            # The SDK sends the request and raises its own errors for a refused status;
            # the body is read here, without building the SDK's model objects.
            raw = await client.messages.with_raw_response.create(**params)  # type: ignore[union-attr]
        except anthropic.AnthropicError as exc:
            raise self._translate(exc, params["model"]) from exc
        reply = _object(raw.http_response.content, "an answer")
        try:
            texts: list[str] = []
            calls: list[ToolCall] = []
            for block in reply["content"]:
                kind = block["type"]
                if kind == "text":
                    if block["text"].__class__ is not str:
                        raise _broken(f"sent a text block that is not text "
                                      f"({type(block['text']).__name__})")
                    texts.append(block["text"])
                elif kind == "tool_use":
                    call_id, name = block["id"], block["name"]
                    _check_call(call_id, name)
                    data = block.get("input")
                    if name == forced:
                        texts = [json.dumps(_unwrap(data, options))]
                        continue
                    calls.append(ToolCall(call_id, name, _tool_input(name, data, self._key)))
            stop, usage = reply.get("stop_reason"), reply["usage"]
            prompt, completion = usage["input_tokens"], usage["output_tokens"]
            model, message_id = reply.get("model"), reply.get("id")
        except (KeyError, TypeError, AttributeError) as exc:
            raise _shape("an answer", exc) from exc
        # Text or absent (None, as the SDK's objects read a missing one), checked by
        # identity: a number or a list never reaches the answer.
        if model.__class__ is not str and model is not None:
            raise _broken(f"sent a model that is not text ({type(model).__name__})")
        if message_id.__class__ is not str and message_id is not None:
            raise _broken(f"sent an id that is not text ({type(message_id).__name__})")
        # Positional (content, messages, tool_calls, finish_reason, model, usage,
        # metadata): a class called with keywords costs about twice as much.
        return GenerationResult(
            "".join(texts), [], tuple(calls), _finish(stop, forced), model,
            _usage(prompt, completion), {"id": message_id, "stop_reason": stop},
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        params, forced = self._params(messages, options)
        params["stream"] = True
        tools: dict[Any, dict[str, Any]] = {}
        stop: Any = None
        ended = False  # the stream's own end (message_stop): a body ending before it was cut
        prompt: Any = 0
        completion: Any = 0
        name = self.provider_name  # tagged here, the layer passes the chunks through
        # Whether the forced tool's JSON is the answer as it streams: read once, not per event.
        echo = forced is not None and not _wrapped(options)
        event: str | None = None
        response: Any = None  # set once the SDK has sent the request and had an answer
        loads = json.loads
        try:
            # The SDK sends the request and raises its own errors for a refused status;
            # the events are read here. Leaving the block (the end, an error, the caller
            # breaking out or cancelling) closes the response.
            async with self._require_client().messages.with_streaming_response.create(
                    **params) as response:
                # As the SDK's Stream: pings and unnamed events are skipped, an `error`
                # event fails the stream, an event without data is skipped; the rest is
                # read by its data's `type`. Text deltas are nearly every event: they take
                # the first branch and build their chunk with text_chunk, once per event.
                # Lines end at CR/LF only (body_lines): httpx's aiter_lines also ends them
                # at U+2028 and the like, which a text delta carries unescaped.
                lines = body_lines(response.http_response.aiter_bytes())
                async for event, data in server_sent_events(lines):
                    if event is None or event == "ping":
                        continue
                    if event == "error":
                        raise _event_error(data, response.http_response)  # translated below
                    if not data:
                        continue
                    try:
                        payload = loads(data)
                    except (ValueError, RecursionError) as exc:
                        raise _broken(f"sent {_named(event)} that is not JSON") from exc
                    kind = payload.get("type")  # AttributeError when not an object
                    if kind == "content_block_delta":
                        delta = payload["delta"]
                        part = delta["type"]
                        if part == "text_delta":
                            text = delta["text"]
                            if text.__class__ is not str:  # not checked by json.loads
                                raise _not_text(text)
                            yield text_chunk(text, name)
                        elif part == "input_json_delta" and payload["index"] in tools:
                            block = tools[payload["index"]]
                            piece = delta["partial_json"]
                            if echo and block["name"] == forced:
                                if piece.__class__ is not str:
                                    raise _not_text(piece)
                                yield text_chunk(piece, name)
                            block["json"].append(piece)
                    elif kind == "content_block_start":
                        cb = payload["content_block"]
                        if cb["type"] == "tool_use":
                            _check_call(cb["id"], cb["name"])
                            tools[payload["index"]] = {"id": cb["id"], "name": cb["name"],
                                                       "json": []}
                    elif kind == "message_start":
                        usage = payload["message"]["usage"]
                        prompt = usage.get("input_tokens") or 0
                        completion = usage.get("output_tokens") or 0
                    elif kind == "message_delta":
                        stop = payload["delta"].get("stop_reason") or stop
                        completion = payload["usage"].get("output_tokens") or completion
                    elif kind == "message_stop":
                        ended = True
                event = None  # the events are read: what fails now is the stream's
                if not ended:  # a body that ended cleanly before the answer did: cut short
                    raise dropped("anthropic")
                content, calls = "", []
                for _, block in sorted(tools.items()) if tools else ():
                    data = _streamed_input(block["name"], block["json"], self._key)
                    if block["name"] == forced:
                        if _wrapped(options):
                            content = json.dumps(_unwrap(data, options))
                    else:
                        calls.append(ToolCall(block["id"], block["name"],
                                              _tool_input(block["name"], data, self._key)))
        except anthropic.AnthropicError as exc:
            raise self._translate(exc, params["model"]) from exc
        except transport_errors() as exc:  # the body's read failed mid-stream
            raise _lost(exc) from exc
        except (KeyError, TypeError, AttributeError) as exc:
            if response is None:  # the request's own failure, before any answer
                raise
            raise _shape(_named(event) if event else "a stream", exc) from exc
        finish = _finish(stop, forced)
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

    @property
    def _key(self) -> str | None:
        """The API key, redacted from what the server chose wherever a message repeats it."""
        return self.config.get("api_key")  # type: ignore[no-any-return]

    def _translate(self, exc: anthropic.AnthropicError, model: str) -> ProviderError:
        return translate_error(exc, model=model, secret=self.config.get("api_key"))


def _broken(what: str) -> ProviderError:
    """The server sent a value of the wrong type, which the SDK passes on unchecked."""
    return ProviderError(f"anthropic {what}; the server (or the gateway at base_url) "
                         "is broken: retry, or use another provider", provider="anthropic")


def _shape(what: str, exc: Exception) -> ProviderError:
    """A field missing or of the wrong type where the plugin reads it (the KeyError,
    TypeError or AttributeError that reading raised, named)."""
    return _broken(f"sent {what} of the wrong shape ({type(exc).__name__}: {str(exc)[:100]})")


def _named(event: str) -> str:
    """How a message names the server's event: by the API's own name, never by text the
    server chose (which could be megabytes long, or repeat the API key it was sent)."""
    return f"a {event!r} event" if event in _EVENTS else "an event of a type the API has not"


def _object(raw: str | bytes, what: str) -> dict[str, Any]:
    """``raw`` parsed as a JSON object, or a ``ProviderError`` saying it is not one."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _broken(f"sent {what} that is not JSON") from exc
    if value.__class__ is not dict:
        raise _broken(f"sent {what} that is not a JSON object ({type(value).__name__})")
    return value  # type: ignore[no-any-return]


def _check_call(call_id: Any, name: Any) -> None:
    """A tool call's id and name are text (the caller sends them back, and looks the
    tool up by name)."""
    if call_id.__class__ is not str or name.__class__ is not str:
        raise _broken(f"sent a tool call whose id or name is not text "
                      f"({type(call_id).__name__}, {type(name).__name__})")


def _finish(stop: Any, forced: str | None) -> Any:
    """The finish reason in OpenAI's words, from the server's ``stop_reason``."""
    if stop is not None and stop.__class__ is not str:
        raise _broken(f"sent a stop reason that is not text ({type(stop).__name__})")
    return "stop" if forced and stop == "tool_use" else _FINISH.get(stop or "", stop)


def _event_error(data: str, response: Any) -> anthropic.APIStatusError:
    """The SDK's error for an ``error`` event, built as its ``Stream`` builds it (the
    status is the stream's own), so the plugin's translation sees what it saw before."""
    try:
        body: Any = json.loads(data)
        message = f"{body}"
    except (ValueError, RecursionError):
        body, message = data, data or f"Error code: {response.status_code}"
    return anthropic.APIStatusError(message, response=response, body=body)


def _lost(exc: BaseException) -> ProviderError:
    """A read of the body that failed mid-stream: timed out (``httpx``'s or ``httpx2``'s
    ``TimeoutException``, which the SDK's own reader reported as a timeout), or the
    connection dropped."""
    if any(c.__name__ == "TimeoutException" for c in type(exc).__mro__):
        return timed_out("anthropic")
    return dropped("anthropic")


def _not_text(value: Any) -> ProviderError:
    return _broken(f"streamed a text piece that is not text ({type(value).__name__})")


def _usage(prompt: Any, completion: Any) -> Usage:
    """Usage from the server's counts, once per request: whole numbers or a ProviderError."""
    if prompt.__class__ is not int or completion.__class__ is not int:
        raise _broken(f"sent usage counts that are not whole numbers ({type(prompt).__name__}, "
                      f"{type(completion).__name__})")
    return Usage(prompt, completion)


def _tool(name: str, secret: str | None) -> str:
    """A tool name the server chose, as a message shows it: the key redacted, at most 100
    characters (a real one has at most 64), quoted and escaped."""
    return repr(shown(name, 100, secret))


def _streamed_input(name: str, pieces: list[Any], secret: str | None) -> Any:
    """A tool's input, from the ``input_json_delta`` pieces the server streamed; pieces
    that do not join to JSON are the server's failure (a ``ProviderError``, as for
    openai), never a ``JSONDecodeError`` or ``TypeError`` from inside the plugin."""
    try:
        return json.loads("".join(pieces) or "{}")
    except (ValueError, TypeError, RecursionError) as exc:
        raise ProviderError(
            f"anthropic streamed input for tool {_tool(name, secret)} that is not JSON; retry, or "
            "describe the tool's parameters more precisely",
            provider="anthropic",
        ) from exc


def _tool_input(name: str, data: Any, secret: str | None) -> dict[str, Any]:
    """A tool call's input as its arguments, in generate and stream alike: an object
    (``null`` is none); anything else is the server's failure, never arguments that a
    caller (or the tool loop, which calls ``dict`` on them) cannot use."""
    if data is None:
        return {}
    if data.__class__ is not dict:
        raise _broken(f"sent input for tool {_tool(name, secret)} that is not an object "
                      f"({type(data).__name__})")
    return data  # type: ignore[no-any-return]


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
