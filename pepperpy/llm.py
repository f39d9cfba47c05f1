"""LLM interfaces and data types.

A provider turns a list of ``Message`` objects and one ``GenerationOptions`` into a
``GenerationResult`` (or a stream of ``GenerationChunk``). Providers never validate
structured output or run tools: the chat builder does, so every provider behaves the
same.
"""

from __future__ import annotations

import abc
import enum
import inspect
import json
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


@dataclass(frozen=True)
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

    def __post_init__(self) -> None:
        if not isinstance(self.role, MessageRole):
            try:
                object.__setattr__(self, "role", MessageRole(self.role))
            except ValueError:
                roles = ", ".join(r.value for r in MessageRole)
                raise ValidationError(
                    f"unknown message role {self.role!r}; use one of: {roles}"
                ) from None
        if not isinstance(self.content, str):
            raise ValidationError(
                f"message content must be a str, got {type(self.content).__name__}; "
                "convert it with str() or json.dumps() first"
            )

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
        )


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

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


@dataclass(frozen=True)
class GenerationOptions:
    """Per-request options. ``None`` means the provider's configured default."""

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools: tuple[Tool, ...] = ()
    response_format: ResponseFormat | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None


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


@dataclass(frozen=True)
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


class LLMProvider(BaseProvider, abc.ABC):
    """Interface every LLM provider implements."""

    category: ClassVar[str] = "llm"

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
