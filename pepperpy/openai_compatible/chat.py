"""An LLM provider for any OpenAI-compatible chat completions API.

Used by every plugin that speaks OpenAI's chat API (openai, openrouter, and those
``plugin new --template openai-compatible`` writes): a subclass only sets
``vendor``/``key_env`` and may add default headers.

Mapping (PepperPy -> wire): system/user messages as-is; assistant tool calls as
``tool_calls`` with JSON-encoded arguments; tool results as ``role: "tool"`` with
``tool_call_id``; tools as ``{"type": "function"}``; structured output as
``response_format`` ``json_schema`` (``strict`` only when the schema allows it).

Reading (wire -> PepperPy): the SDK builds, authenticates and sends each request and
raises its own exceptions for a refused status, but the answer is read here, the JSON
body for generate and the server-sent events (``pepperpy.sse``) for stream, as the SDK's
``Stream`` reads them (``[DONE]``, ``error`` objects, named events): building the SDK's
model object per event cost more than the rest of the request. Each field is checked
where it is read, so what a broken server sends wrong is a ``ProviderError`` naming it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import openai

from pepperpy._jsonio import loads as _loads
from pepperpy.core import ProviderError, ValidationError
from pepperpy.http_errors import dropped, shown, transport_errors
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
    text_chunk,
)
from pepperpy.openai_compatible.client import open_client
from pepperpy.openai_compatible.errors import translate_error
from pepperpy.sse import body_lines, server_sent_events

__all__ = ["OpenAIChatProvider"]


class OpenAIChatProvider(LLMProvider):
    """Chat completions through ``openai.AsyncOpenAI``; the client is made in initialize()."""

    vendor: ClassVar[str] = "openai"
    key_env: ClassVar[str] = "OPENAI_API_KEY"
    accepts_images: ClassVar[bool] = True  # sent as image_url content parts (data URLs)

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        organization: str | None = None,
        timeout: float = 60.0,
        temperature: float | None = None,
        stream_usage: bool = True,
        **extra: Any,
    ) -> None:
        super().__init__(
            api_key=api_key, model=model, base_url=base_url, organization=organization,
            timeout=timeout, temperature=temperature,
            stream_usage=stream_usage, **extra,
        )
        self._client: openai.AsyncOpenAI | None = None

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request (OpenRouter's attribution, for example)."""
        return {}

    async def initialize(self) -> None:
        client = open_client(self.config, headers=self.default_headers())
        self._client = self.close_on_cleanup(client)
        await super().initialize()

    # -- generation -----------------------------------------------------------------
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        params = self._params(messages, options)
        # the client once initialized (_require_client's check, inline: every request)
        client = self._client if self.initialized else self._require_client()
        assert client is not None
        try:  # the SDK sends it and raises for a refused status; the body is read here
            raw = await client.chat.completions.with_raw_response.create(**params)
        except openai.OpenAIError as exc:
            raise self._translate(exc, params["model"]) from exc
        completion = self._json(raw.http_response.content)
        choices = completion.get("choices")
        if choices.__class__ is not list or not choices or choices[0].__class__ is not dict:
            raise self._broken("sent an answer without a choice")
        choice = choices[0]
        message = choice.get("message")
        if message.__class__ is not dict:
            raise self._broken("sent a choice without a message")
        wire_calls = message.get("tool_calls")
        calls = self._calls(wire_calls) if wire_calls else ()
        usage = completion.get("usage")
        model, reply_id = completion.get("model"), completion.get("id")
        # Text or absent (None, as the SDK's objects read a missing one); checked by
        # identity, as every field: a number or a list never reaches the answer.
        if model.__class__ is not str and model is not None:
            raise self._broken(f"sent a model that is not text ({type(model).__name__})")
        if reply_id.__class__ is not str and reply_id is not None:
            raise self._broken(f"sent an id that is not text ({type(reply_id).__name__})")
        metadata: dict[str, Any] = {"id": reply_id}
        refusal = message.get("refusal")
        if refusal:
            metadata["refusal"] = self._text(refusal, "a refusal")
        content = message.get("content") or ""
        if not isinstance(content, str):
            raise self._broken(f"sent content that is not text ({type(content).__name__})")
        # Positional (content, messages, tool_calls, finish_reason, model, usage,
        # metadata): a class called with keywords costs about twice as much.
        return GenerationResult(
            content if options.response_format is None else _unwrap(content, options), [],
            calls, self._reason(choice.get("finish_reason")), model,
            self._usage(usage) if usage else None, metadata,
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        params = self._params(messages, options)
        params["stream"] = True
        if self.config.get("stream_usage", True):
            params["stream_options"] = {"include_usage": True}
        calls: dict[int, dict[str, Any]] = {}
        held: list[str] = []  # a wrapped structured answer is sent whole, unwrapped
        wrapped = _wrapped(options)
        finish: str | None = None
        usage: Usage | None = None
        opened = False
        name = self.provider_name  # tagged here, the layer passes the chunks through
        loads = _loads
        try:
            # The SDK sends the request and raises for a refused status; the events are
            # read here, as its own Stream reads them, without a model object per event.
            async with self._require_client().chat.completions.with_streaming_response.create(
                **params
            ) as response:
                opened = True
                http = response.http_response
                # Lines end at CR/LF only and are UTF-8 whatever charset the server names
                # (body_lines): aiter_lines also ends them at U+2028 and the like, which
                # JSON leaves unescaped inside a text piece.
                events = server_sent_events(body_lines(http.aiter_bytes()))
                async for event, data in events:  # once per piece: only what it needs
                    if data.startswith("[DONE]"):
                        await _drain(http, events)
                        break
                    try:
                        chunk = loads(data)
                    except (ValueError, RecursionError) as exc:
                        raise self._broken("streamed an event that is not JSON") from exc
                    if event is not None and event.startswith("thread."):
                        continue  # the Assistants API's events: the SDK reads past them
                    if chunk.__class__ is not dict:
                        raise self._broken("streamed an event that is not an object "
                                           f"({type(chunk).__name__})")
                    if chunk.get("error"):
                        raise _stream_error(chunk["error"], http.request)
                    if chunk.get("usage") is not None:
                        usage = self._usage(chunk["usage"])
                    choices = chunk.get("choices")
                    if not choices:
                        continue
                    choice = choices[0] if choices.__class__ is list else None
                    if choice.__class__ is not dict:
                        raise self._broken("streamed choices that are not a list of objects")
                    reason = choice.get("finish_reason")
                    if reason:
                        finish = self._reason(reason)
                    delta = choice.get("delta")
                    if not delta:
                        continue
                    if delta.__class__ is not dict:
                        raise self._broken("streamed a delta that is not an object")
                    pieces = delta.get("tool_calls")
                    if pieces:
                        self._merge_calls(calls, pieces)
                    text = delta.get("content")
                    if text:
                        if text.__class__ is not str:  # the SDK does not check it
                            raise self._broken("streamed a text piece that is not text "
                                               f"({type(text).__name__})")
                        if wrapped:
                            held.append(text)
                        else:
                            yield text_chunk(text, name)  # the cheapest chunk, once per piece
                else:  # the body ended without [DONE]: finished only if it said so
                    if finish is None:
                        raise dropped(self.vendor)
        except openai.APIConnectionError as exc:
            if opened:  # the answer had started: the connection broke, not the address
                raise dropped(self.vendor) from exc
            raise self._translate(exc, params["model"]) from exc
        except openai.OpenAIError as exc:
            raise self._translate(exc, params["model"]) from exc
        except transport_errors() as exc:
            raise dropped(self.vendor) from exc
        tool_calls = tuple(
            ToolCall(c["id"], c["name"], self._arguments(c["name"], "".join(c["args"])))
            for _, c in sorted(calls.items())
        )
        content = _unwrap("".join(held), options) if held else ""
        yield GenerationChunk(content, finish or "stop", tool_calls, usage, {}, name)

    # -- mapping --------------------------------------------------------------------
    def _params(self, messages: Sequence[Message], options: GenerationOptions) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": options.model or self.config["model"],
            "messages": [_wire_message(m) for m in messages],
        }
        temperature = (
            options.temperature if options.temperature is not None
            else self.config.get("temperature")
        )
        if temperature is not None:
            params["temperature"] = temperature
        if options.max_tokens is not None:
            params["max_tokens"] = options.max_tokens
        if options.stop:
            params["stop"] = list(options.stop)
        if options.seed is not None:
            params["seed"] = options.seed
        if options.top_p is not None:
            params["top_p"] = options.top_p
        if options.tools:
            params["tools"] = [_wire_tool(t) for t in options.tools]
        if options.response_format is not None:
            params["response_format"] = _wire_format(options.response_format)
        return params

    def _require_client(self) -> openai.AsyncOpenAI:
        self.require_initialized()
        assert self._client is not None
        return self._client

    def _translate(self, exc: openai.OpenAIError, model: str) -> ProviderError:
        return translate_error(
            exc, provider=self.vendor, key_env=self.key_env, model=model,
            secret=self.config.get("api_key"),
        )

    def _broken(self, what: str) -> ProviderError:
        """The server sent a value of the wrong type, which the SDK passes on unchecked."""
        return ProviderError(f"{self.vendor} {what}; the server (or the gateway at base_url) "
                             "is broken: retry, or use another provider", provider=self.vendor)

    def _named(self, name: str) -> str:
        """A tool name the server chose, as a message shows it: the key redacted, at most
        100 characters (a real one has at most 64), quoted and escaped."""
        return repr(shown(name, 100, self.config.get("api_key")))

    def _usage(self, raw: Any) -> Usage:
        """Usage from the server's counts, once per request: whole numbers or a ProviderError."""
        if raw.__class__ is not dict:
            raise self._broken(f"sent usage that is not an object ({type(raw).__name__})")
        prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
        if prompt.__class__ is int and completion.__class__ is int:
            return Usage(prompt, completion)
        prompt, completion = _counts_as_the_sdk_read_them(raw, prompt, completion)
        if prompt.__class__ is not int or completion.__class__ is not int:
            raise self._broken("sent usage counts that are not whole numbers "
                               f"({type(prompt).__name__}, {type(completion).__name__})")
        return Usage(prompt, completion)

    def _json(self, body: bytes) -> dict[str, Any]:
        """The answer's JSON object (what the SDK would have built its model from)."""
        try:
            value = json.loads(body)
        except (ValueError, RecursionError) as exc:  # ValueError: not JSON, or not UTF-8
            raise self._broken("sent an answer that is not JSON") from exc
        if value.__class__ is not dict:
            raise self._broken(f"sent an answer that is not an object ({type(value).__name__})")
        return value  # type: ignore[no-any-return]

    def _text(self, value: Any, what: str) -> str:
        if value.__class__ is not str:
            raise self._broken(f"sent {what} that is not text ({type(value).__name__})")
        return value  # type: ignore[no-any-return]

    def _reason(self, value: Any) -> str | None:
        if value is None or value.__class__ is str:
            return value  # type: ignore[no-any-return]
        raise self._broken(f"sent a finish reason that is not text ({type(value).__name__})")

    def _calls(self, wire: Any) -> tuple[ToolCall, ...]:
        """A generated answer's function calls (other kinds are left out, as before)."""
        if wire.__class__ is not list:
            raise self._broken("sent tool calls that are not a list")
        calls = []
        for call in wire:
            if call.__class__ is not dict:
                raise self._broken("sent a tool call that is not an object")
            if call.get("type") != "function":
                continue
            function = call.get("function")
            if function.__class__ is not dict:
                raise self._broken("sent a function call without its function")
            name = self._text(function.get("name"), "a tool name")
            calls.append(ToolCall(self._text(call.get("id"), "a tool call id"), name,
                                  self._arguments(name, function.get("arguments"))))
        return tuple(calls)

    def _merge_calls(self, calls: dict[int, dict[str, Any]], pieces: Any) -> None:
        """Fold one event's streamed tool-call pieces into the calls they continue."""
        if pieces.__class__ is not list:
            raise self._broken("streamed tool calls that are not a list")
        for piece in pieces:
            if piece.__class__ is not dict:
                raise self._broken("streamed a tool call that is not an object")
            index = piece.get("index")
            if index.__class__ is not int:
                if index is not None:
                    raise self._broken("streamed a tool call whose index is not a whole "
                                       f"number ({type(index).__name__})")
                index = -1  # no index: one call, as the SDK's objects read it
            call = calls.get(index)
            if call is None:
                call = calls[index] = {"id": "", "name": "", "args": []}
            if piece.get("id"):
                call["id"] = self._text(piece["id"], "a tool call id")
            function = piece.get("function")
            if function is not None:
                if function.__class__ is not dict:
                    raise self._broken("streamed a tool call whose function is not an object")
                if function.get("name"):
                    call["name"] = self._text(function["name"], "a tool name")
                args = function.get("arguments")
                if args:
                    if args.__class__ is not str:  # the name is the server's: shown only here
                        raise self._broken(f"sent an arguments piece for tool "
                                           f"{self._named(call['name'])} that is not text "
                                           f"({type(args).__name__})")
                    call["args"].append(args)

    def _arguments(self, name: str, raw: str | None) -> dict[str, Any]:
        try:
            value = json.loads(raw or "{}")
        except (json.JSONDecodeError, TypeError, RecursionError) as exc:  # TypeError: not text
            raise ProviderError(
                f"{self.vendor} returned arguments for tool {self._named(name)} that are not "
                "JSON; retry, or describe the tool's parameters more precisely",
                provider=self.vendor,
            ) from exc
        return value if isinstance(value, dict) else {"value": value}


def _counts_as_the_sdk_read_them(raw: dict[str, Any], prompt: Any, completion: Any
                                 ) -> tuple[Any, Any]:
    """The SDK validated a usage object that fits its model, converting on the way (a
    count of ``"3"`` became 3), and took it as sent otherwise: the same, off the fast path."""
    import pydantic
    from openai.types import CompletionUsage

    try:
        usage = CompletionUsage.model_validate(raw)
    except pydantic.ValidationError:
        return prompt, completion
    return usage.prompt_tokens, usage.completion_tokens


def _stream_error(error: Any, request: Any) -> openai.APIError:
    """The SDK's own exception for an ``error`` object inside the stream, as its ``Stream``
    raises it, so the translation (and what callers see) stays what it was."""
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message, request, body=error)


async def _drain(http: Any, events: AsyncIterator[Any]) -> None:
    """Read what follows ``[DONE]`` (as a rule only the body's end) so an HTTP/1.1
    connection goes back to the pool, as the SDK does: for at most 0.1 s."""
    ends: tuple[type[BaseException], ...] = (TimeoutError, *transport_errors())
    try:
        if http.http_version == "HTTP/1.1":
            async with asyncio.timeout(0.1):
                async for _ in events:
                    pass
    except ends:
        pass  # the answer is complete: a slow or broken end is not an error
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def _wire_message(message: Message) -> dict[str, Any]:
    role = message.role
    if role is MessageRole.TOOL:
        if not message.tool_call_id:
            raise ValidationError(
                "a tool message needs tool_call_id (the id of the ToolCall it answers)"
            )
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    # str(role), not role.value: the same text (a StrEnum), without two Python-level calls
    wire: dict[str, Any] = {"role": str(role), "content": message.content}
    if message.images:  # content parts: the text, then each image as a data URL
        wire["content"] = [{"type": "text", "text": message.content}] + [
            {"type": "image_url", "image_url": {"url": image.data_url()}}
            for image in message.images]
    if message.name and role is not MessageRole.SYSTEM:
        wire["name"] = _safe_name(message.name)
    if role is MessageRole.ASSISTANT and message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in message.tool_calls
        ]
    return wire


def _wire_tool(tool: Tool) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": tool.name, "description": tool.description, "parameters": tool.parameters,
    }}


def _wrapped(options: GenerationOptions) -> bool:
    """The API wants an object at the root; other schemas go in ``{"value": ...}``."""
    fmt = options.response_format
    return fmt is not None and fmt.schema.get("type", "object") != "object"


def _unwrap(content: str, options: GenerationOptions) -> str:
    if not _wrapped(options):
        return content
    try:
        return json.dumps(json.loads(content)["value"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return content  # the chat builder reports what is wrong with it


def _wire_format(fmt: ResponseFormat) -> dict[str, Any]:
    """Use strict mode when closing every object makes the schema strict-compatible."""
    schema = fmt.schema
    if schema.get("type", "object") != "object":
        schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
    closed = _closed(schema)
    strict = _strict_ok(closed)
    return {"type": "json_schema", "json_schema": {
        "name": _safe_name(fmt.name), "schema": closed if strict else schema,
        "strict": strict,
    }}


def _safe_name(name: str) -> str:
    """OpenAI names must match ``^[a-zA-Z0-9_-]{1,64}$``."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "response"


def _closed(schema: Any) -> Any:
    """A copy with ``additionalProperties: false`` on objects that do not say otherwise."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (v if k in ("enum", "const", "default") else _closed(v)) for k, v in schema.items()}
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


def _strict_ok(schema: Any) -> bool:
    """Strict mode needs every object closed and every property required."""
    if isinstance(schema, list):
        return all(_strict_ok(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties", True) is not False:
            return False
        if set(schema.get("required", ())) != set(props):
            return False
    return all(_strict_ok(v) for k, v in schema.items() if k not in ("enum", "const", "default"))
