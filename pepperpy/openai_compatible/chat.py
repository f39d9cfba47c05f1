"""An LLM provider for any OpenAI-compatible chat completions API.

Used by every plugin that speaks OpenAI's chat API (openai, openrouter, and those
``plugin new --template openai-compatible`` writes): a subclass only sets
``vendor``/``key_env`` and may add default headers.

Mapping (PepperPy -> wire): system/user messages as-is; assistant tool calls as
``tool_calls`` with JSON-encoded arguments; tool results as ``role: "tool"`` with
``tool_call_id``; tools as ``{"type": "function"}``; structured output as
``response_format`` ``json_schema`` (``strict`` only when the schema allows it).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import openai

from pepperpy.core import ProviderError, ValidationError
from pepperpy.http_errors import dropped, transport_errors
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
        try:
            completion = await client.chat.completions.create(**params)
        except openai.OpenAIError as exc:
            raise self._translate(exc, params["model"]) from exc
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(c.id, c.function.name, self._arguments(c.function.name, c.function.arguments))
            for c in message.tool_calls
            if c.type == "function"
        ) if message.tool_calls else ()
        usage = completion.usage
        metadata: dict[str, Any] = {"id": completion.id}
        if getattr(message, "refusal", None):
            metadata["refusal"] = message.refusal
        content = message.content or ""
        if not isinstance(content, str):
            raise self._broken(f"sent content that is not text ({type(content).__name__})")
        # Positional (content, messages, tool_calls, finish_reason, model, usage,
        # metadata): a class called with keywords costs about twice as much.
        return GenerationResult(
            content if options.response_format is None else _unwrap(content, options), [],
            calls, choice.finish_reason, completion.model,
            self._usage(usage.prompt_tokens, usage.completion_tokens) if usage else None,
            metadata,
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
        try:
            stream = await self._require_client().chat.completions.create(**params)
            opened = True
            try:
                async for chunk in stream:  # once per piece: kept to the attributes it needs
                    if chunk.usage is not None:
                        usage = self._usage(chunk.usage.prompt_tokens,
                                            chunk.usage.completion_tokens)
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finish = choice.finish_reason or finish
                    delta = choice.delta
                    if delta.tool_calls:
                        for call in delta.tool_calls:
                            _merge_call(calls, call)
                    text = delta.content
                    if text:
                        if text.__class__ is not str:  # the SDK does not check it
                            raise self._broken("streamed a text piece that is not text "
                                               f"({type(text).__name__})")
                        if wrapped:
                            held.append(text)
                        else:
                            yield text_chunk(text, name)  # the cheapest chunk, once per piece
            finally:
                await stream.close()
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

    def _usage(self, prompt: Any, completion: Any) -> Usage:
        """Usage from the server's counts, once per request: whole numbers or a ProviderError."""
        if prompt.__class__ is not int or completion.__class__ is not int:
            raise self._broken("sent usage counts that are not whole numbers "
                               f"({type(prompt).__name__}, {type(completion).__name__})")
        return Usage(prompt, completion)

    def _arguments(self, name: str, raw: str | None) -> dict[str, Any]:
        try:
            value = json.loads(raw or "{}")
        except (json.JSONDecodeError, TypeError) as exc:  # TypeError: arguments not text
            raise ProviderError(
                f"{self.vendor} returned arguments for tool {name!r} that are not JSON; "
                "retry, or describe the tool's parameters more precisely",
                provider=self.vendor,
            ) from exc
        return value if isinstance(value, dict) else {"value": value}


def _merge_call(calls: dict[int, dict[str, Any]], delta: Any) -> None:
    """Fold one streamed tool-call delta into the call it continues."""
    call = calls.setdefault(delta.index, {"id": "", "name": "", "args": []})
    if delta.id:
        call["id"] = delta.id
    function = delta.function
    if function is not None:
        if function.name:
            call["name"] = function.name
        if function.arguments:
            call["args"].append(function.arguments)


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
