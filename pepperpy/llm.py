"""LLM interfaces and data types.

A provider turns a list of ``Message`` objects and one ``GenerationOptions`` into a
``GenerationResult`` (or a stream of ``GenerationChunk``). Providers never validate
structured output or run tools: the chat builder does, so every provider behaves the
same.
"""

from __future__ import annotations

import abc
import base64
import enum
import inspect
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

from pepperpy.core import BaseProvider, ValidationError

__all__ = [
    "GenerationChunk",
    "GenerationOptions",
    "GenerationResult",
    "LLMProvider",
    "Message",
    "MessageRole",
    "ResponseFormat",
    "Tool",
    "ToolCall",
    "Usage",
    "text_chunk",
]


class MessageRole(enum.StrEnum):
    """Who said a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True)
class ToolCall:
    """The model asks for ``name`` to be called with ``arguments``."""

    id: str
    name: str
    arguments: dict[str, Any]


#: Image formats every vision API takes, by their file signature.
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Image:
    """An image sent with a message: its bytes and media type (png, jpeg, gif, webp)."""

    data: bytes = field(repr=False)
    media_type: str

    @classmethod
    def of(cls, source: Image | bytes | str | os.PathLike[str]) -> Image:
        """From an ``Image``, raw bytes, or a file path; the type comes from the bytes."""
        if isinstance(source, Image):
            return source
        if isinstance(source, bytes | bytearray):
            data = bytes(source)
        elif isinstance(source, str | os.PathLike):
            try:
                with open(source, "rb") as handle:
                    data = handle.read(MAX_IMAGE_BYTES + 1)
            except OSError as exc:
                raise ValidationError(f"cannot read image {source}: {exc.strerror}") from None
        else:
            raise ValidationError(f"an image is a file path or bytes, got "
                                  f"{type(source).__name__}")
        if len(data) > MAX_IMAGE_BYTES:
            raise ValidationError(f"an image may be at most {MAX_IMAGE_BYTES} bytes; "
                                  "resize it first")
        return cls(data, _media_type(data))

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.base64()}"


def _media_type(data: bytes) -> str:
    for magic, media in _IMAGE_MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ValidationError("the image is not PNG, JPEG, GIF or WebP (checked by its first "
                          "bytes); convert it to one of those")


@dataclass(frozen=True, init=False)
class Message:
    """One message of a conversation.

    ``tool_calls`` is set on assistant messages that call tools; ``tool_call_id`` on
    the tool message that answers one.
    """

    role: MessageRole
    content: str
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    #: images a user message shows the model (providers that cannot see refuse them)
    images: tuple[Image, ...] = ()

    # Written by hand (a few are made per request): the frozen dataclass's own __init__
    # sets each field through object.__setattr__, three times the cost.
    def __init__(
        self, role: MessageRole | str, content: str, name: str | None = None,
        tool_calls: tuple[ToolCall, ...] = (), tool_call_id: str | None = None,
        images: tuple[Image, ...] = (),
    ) -> None:
        if role.__class__ is not MessageRole:
            try:
                role = MessageRole(role)
            except ValueError:
                roles = ", ".join(r.value for r in MessageRole)
                raise ValidationError(
                    f"unknown message role {role!r}; use one of: {roles}"
                ) from None
        if not isinstance(content, str):
            raise ValidationError(
                f"message content must be a str, got {type(content).__name__}; "
                "convert it with str() or json.dumps() first"
            )
        d = self.__dict__
        d["role"], d["content"], d["name"] = role, content, name
        d["tool_calls"], d["tool_call_id"], d["images"] = tool_calls, tool_call_id, images

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form, used for conversation history."""
        data: dict[str, Any] = {"role": self.role.value, "content": self.content}
        if self.name:
            data["name"] = self.name
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id:
            data["tool_call_id"] = self.tool_call_id
        if self.images:
            data["images"] = [{"media_type": i.media_type, "data": i.base64()}
                              for i in self.images]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        calls = tuple(
            ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls", ())
        )
        return cls(
            role=MessageRole(data["role"]),
            content=data.get("content", ""),
            name=data.get("name"),
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id"),
            images=tuple(Image.of(base64.b64decode(i["data"]))
                         for i in data.get("images", ())),
        )


@dataclass(frozen=True, init=False)
class Usage:
    """Token counts as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        d = self.__dict__  # one per request: see Message.__init__
        d["prompt_tokens"], d["completion_tokens"] = prompt_tokens, completion_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Tool:
    """A function the model may call: a name, a description and a JSON schema.

    ``function`` is optional; when set, the chat builder runs it and feeds the result
    back to the model.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any] | None = None

    @classmethod
    def from_function(cls, function: Callable[..., Any], *, name: str | None = None) -> Tool:
        """Derive the schema from the type hints and the docstring's first line."""
        signature = inspect.signature(function)
        hints = get_type_hints(function)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in signature.parameters.items():
            properties[pname] = {"type": _JSON_TYPES.get(hints.get(pname, str), "string")}
            if param.default is inspect.Parameter.empty:
                required.append(pname)
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        return cls(
            name=name or function.__name__,
            description=doc[0] if doc else function.__name__,
            parameters={"type": "object", "properties": properties, "required": required},
            function=function,
        )


_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


@dataclass(frozen=True)
class ResponseFormat:
    """Ask for JSON that matches ``schema`` (structured output)."""

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True, init=False)
class GenerationOptions:
    """Per-request options. ``None`` means the provider's configured default."""

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools: tuple[Tool, ...] = ()
    response_format: ResponseFormat | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    top_p: float | None = None

    def __init__(
        self, model: str | None = None, temperature: float | None = None,
        max_tokens: int | None = None, tools: tuple[Tool, ...] = (),
        response_format: ResponseFormat | None = None, stop: tuple[str, ...] = (),
        seed: int | None = None, top_p: float | None = None,
    ) -> None:
        d = self.__dict__  # one per request: see Message.__init__
        d["model"], d["temperature"], d["max_tokens"], d["tools"] = (
            model, temperature, max_tokens, tools)
        d["response_format"], d["stop"], d["seed"], d["top_p"] = (
            response_format, stop, seed, top_p)


#: Options every LLM provider takes in ``with_llm(...)``, with one meaning everywhere: the
#: default of every request on that ``PepperPy``, overridden by the chat's own setting
#: (``with_max_tokens``, ``with_temperature``, ``with_options``). A provider whose API
#: lacks one (Anthropic has no ``seed``) ignores it.
GENERATION_DEFAULTS = ("max_tokens", "temperature", "top_p", "stop", "seed")


def split_generation_defaults(config: dict[str, Any], *, label: str
                              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(request defaults, provider options)`` from ``with_llm``'s keywords, each
    default checked: max_tokens a positive int, temperature 0-2, top_p 0-1, stop a
    string or a list of strings, seed an int."""
    defaults = {k: config[k] for k in GENERATION_DEFAULTS if config.get(k) is not None}
    rest = {k: v for k, v in config.items() if k not in GENERATION_DEFAULTS}
    for key, value in defaults.items():
        defaults[key] = _checked(key, value, label)
    return defaults, rest


def _checked(key: str, value: Any, label: str) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    integer = isinstance(value, int) and not isinstance(value, bool)
    if key == "stop":
        stops = (value,) if isinstance(value, str) else value
        if isinstance(stops, list | tuple) and stops and all(
                isinstance(s, str) and s for s in stops):
            return tuple(stops)
    elif (key == "max_tokens" and integer and value >= 1) or (key == "seed" and integer):
        return value
    elif key == "temperature" and number and 0 <= value <= 2:
        return float(value)
    elif key == "top_p" and number and 0 < value <= 1:
        return float(value)
    wanted = {"max_tokens": "a positive integer", "seed": "an integer",
              "temperature": "a number from 0 to 2", "top_p": "a number above 0, at most 1",
              "stop": "a string or a list of non-empty strings"}[key]
    raise ValidationError(f"{label}: {key} must be {wanted}, got {value!r}")


#: "no metadata given": a fresh dict per chunk, as ``field(default_factory=dict)`` does.
_FRESH: Any = object()
_new = object.__new__


@dataclass
class GenerationResult:
    """What a generation produced."""

    content: str
    messages: list[Message] = field(default_factory=list)
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    model: str | None = None
    usage: Usage | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The validated object when structured output was requested.
    parsed: Any = None
    #: The provider that answered (a fallback's name when the primary failed).
    provider: str | None = None
    #: Whether the answer came from the response cache (``with_cache()``), not a request.
    cached: bool = False

    def json(self) -> Any:
        """Parse ``content`` as JSON (for structured output without a model class)."""
        try:
            return json.loads(self.content)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"the model's answer is not valid JSON: {exc}") from exc


@dataclass(frozen=True, init=False)
class GenerationChunk:
    """A piece of a streamed answer; the last one carries ``finish_reason``."""

    content: str
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The provider streaming this answer.
    provider: str | None = None
    #: "text" for the answer; "tool_calls" and "tool_result" for the tool rounds a
    #: streamed chat runs (their ``content`` is empty; see ``tool_calls``/``metadata``).
    kind: str = "text"

    # Written by hand: one is made per streamed piece, and the frozen dataclass's own
    # __init__ (an object.__setattr__ per field) costs three times as much.
    def __init__(
        self, content: str, finish_reason: str | None = None,
        tool_calls: tuple[ToolCall, ...] = (), usage: Usage | None = None,
        metadata: dict[str, Any] = _FRESH, provider: str | None = None, kind: str = "text",
    ) -> None:
        d = self.__dict__
        d["content"], d["finish_reason"], d["tool_calls"], d["usage"] = (
            content, finish_reason, tool_calls, usage)
        d["metadata"] = {} if metadata is _FRESH else metadata
        d["provider"], d["kind"] = provider, kind

    def _tagged(self, provider: str) -> GenerationChunk:
        """A copy marked as streamed by ``provider`` (the layer's tag on every piece)."""
        copy = _new(GenerationChunk)
        d = copy.__dict__
        d.update(self.__dict__)
        d["provider"], d["kind"] = provider, "text"
        return copy


class _TextChunk:
    """``text_chunk``: stores a text piece's fields as a plain class's attributes (no
    frozen ``__setattr__`` in the way), then becomes a ``GenerationChunk``. Counted, 3.8K
    instructions to make and free against 5.2K for ``GenerationChunk(...)``, and a stream
    makes one per piece. Never seen as itself: the instance is a ``GenerationChunk`` by
    the end of ``__init__``."""

    def __init__(self, content: str, provider: str | None) -> None:
        self.content = content
        self.finish_reason = None
        self.tool_calls = ()
        self.usage = None
        self.metadata: dict[str, Any] = {}
        self.provider = provider
        self.kind = "text"
        self.__class__ = GenerationChunk  # type: ignore[assignment]


#: ``text_chunk(content, provider)``: the same chunk as ``GenerationChunk(content,
#: provider=provider)``, made cheaper; for providers, once per streamed text piece.
text_chunk: Callable[[str, str | None], GenerationChunk] = _TextChunk  # type: ignore[assignment]


class LLMProvider(BaseProvider, abc.ABC):
    """Interface every LLM provider implements."""

    category: ClassVar[str] = "llm"
    #: Whether the provider sends ``Message.images`` to its model; PepperPy refuses
    #: images for providers that leave this False instead of silently dropping them.
    accepts_images: ClassVar[bool] = False

    @abc.abstractmethod
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        """Answer the conversation in one piece."""

    @abc.abstractmethod
    def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        """Answer the conversation as a stream (an async generator)."""
