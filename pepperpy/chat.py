"""The chat builder: ``pepper.chat.with_system(...).with_user(...).generate()``.

The builder owns what must behave the same for every provider: input validation,
structured-output validation, running tool functions, and saving history.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

from pepperpy.core import ProviderError, ValidationError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    Image,
    Message,
    MessageRole,
    ResponseFormat,
    Tool,
)
from pepperpy.reliability.deadline import (
    Deadline,
    check_timeout,
    current_deadline,
    pin,
    pinned,
    unpin,
)
from pepperpy.reliability.layer import ReliableLLM
from pepperpy.textcheck import check_text
from pepperpy.tool_loop import ToolLoop
from pepperpy.tools import MAX_TOOL_CALLS, ToolRunner, check_unique

if TYPE_CHECKING:
    from pepperpy.history import ConversationHistory
    from pepperpy.llm import LLMProvider

__all__ = ["ChatBuilder"]

_OPTION_NAMES = {f.name for f in dataclasses.fields(GenerationOptions)}
_PLAIN = GenerationOptions()  # frozen: shared by every chat that sets no option
_NONE_BUILT: Mapping[str, Any] = MappingProxyType({})
_NO_IMAGES: tuple[Any, ...] = ()  # the default: a message without images skips their checks


class ChatBuilder:
    """Collects messages and options, then generates once or as a stream."""

    # Set on a chat only when asked for (with_schema, with_timeout, ...): class-level
    # defaults, so the plain chat made on every request writes fewer attributes.
    _schema: Any = None
    _conversation: str | None = None
    _max_tool_rounds = 5
    _max_tool_calls = MAX_TOOL_CALLS
    _timeout: float | None = None
    #: What _check_messages would find, known as messages are added: ``_asked`` once a
    #: non-blank ASCII user message is in, ``_odd`` once a message that the appenders do
    #: not look at (or a non-ASCII one) is; the check itself runs only when one says so.
    _asked = False
    _odd = False

    def __init__(  # keywords or positional (PepperPy's chat: cheaper per request)
        self,
        provider_getter: Callable[[], Awaitable[LLMProvider]],
        run: Callable[[Any], Any],
        history: Callable[[str], ConversationHistory] | None = None,
        tools: Callable[[], Awaitable[list[Tool]]] | None = None,
        tracing: Any = None,
        defaults: dict[str, Any] | None = None,
        layers: Mapping[str, Any] | None = None,
    ) -> None:
        self._provider_getter = provider_getter
        #: The owner's built providers by category: the "llm" one, once there, is used
        #: without awaiting ``provider_getter`` (which returns that same object).
        self._layers = layers if layers is not None else _NONE_BUILT
        self._configured_tools = tools
        self._tracing = tracing
        self._run = run
        self._history_factory = history
        self._messages: list[Message] = []
        self._options: dict[str, Any] = {}
        #: with_llm()'s request defaults (max_tokens, temperature, ...); options win.
        #: Only read here (the owner replaces its dict, never changes it).
        self._defaults = defaults if defaults is not None else _NONE_BUILT

    # -- messages ---------------------------------------------------------------
    def with_message(self, role: MessageRole | str, content: str, *,
                     images: Sequence[Any] = _NO_IMAGES) -> Self:
        """Append a message; ``role`` is a MessageRole or its value ("user", ...)."""
        shown: tuple[Image, ...] = ()
        if images is not _NO_IMAGES:
            if isinstance(images, str | bytes):
                raise ValidationError("images= takes a list of paths or bytes: "
                                      "images=[\"photo.png\"]")
            shown = tuple(Image.of(i) for i in images)
        self._messages.append(Message(role, content, images=shown))
        self._odd = True
        return self

    # with_system and with_user append as with_message does, without calling it when
    # there are no images: one call less on every chat request.
    def with_system(self, content: str) -> Self:
        self._messages.append(Message(MessageRole.SYSTEM, content))
        if not content.isascii():
            self._odd = True
        return self

    def with_user(self, content: str, *, images: Sequence[Any] = _NO_IMAGES) -> Self:
        """A user message; ``images`` (file paths, bytes or ``Image``) for models that see:
        ``with_user("What is in this picture?", images=["photo.png"])``."""
        if images is not _NO_IMAGES:
            return self.with_message(MessageRole.USER, content, images=images)
        self._messages.append(Message(MessageRole.USER, content))
        if content.isascii() and content.strip():
            self._asked = True
        else:
            self._odd = True
        return self

    def with_assistant(self, content: str) -> Self:
        return self.with_message(MessageRole.ASSISTANT, content)

    def with_messages(self, messages: Sequence[Message]) -> Self:
        for message in messages:
            if not isinstance(message, Message):
                raise ValidationError(
                    f"with_messages() takes pepperpy.Message objects, got "
                    f"{type(message).__name__}; use with_user()/with_system() for strings"
                )
            self._messages.append(message)
            self._odd = True
        return self

    # -- options ----------------------------------------------------------------
    def with_model(self, model: str) -> Self:
        return self._set("model", model, str)

    def with_temperature(self, temperature: float) -> Self:
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            raise ValidationError(f"temperature must be a number from 0 to 2, got {temperature!r}")
        return self._set("temperature", float(temperature), float)

    def with_max_tokens(self, max_tokens: int) -> Self:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise ValidationError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        return self._set("max_tokens", max_tokens, int)

    def with_options(self, **options: Any) -> Self:
        """Set several options at once (model, temperature, max_tokens, top_p, stop, seed)."""
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise ValidationError(
                f"unknown chat option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_OPTION_NAMES))}"
            )
        self._options.update(options)
        return self

    def with_tools(
        self, tools: Sequence[Tool | Callable[..., Any]], *, max_rounds: int = 5,
        max_tool_calls: int = MAX_TOOL_CALLS,
    ) -> Self:
        """Offer tools. Tools with a Python function are run and answered automatically,
        in ``generate()`` and ``stream()`` alike (see ``pepperpy.tools`` for the rules).

        ``max_rounds`` bounds how many times tool results are sent back; a model still
        calling tools after that raises ``ProviderError`` rather than returning nothing.
        ``max_tool_calls`` bounds the calls of one answer (later ones get an error).
        """
        for label, value in (("max_rounds", max_rounds), ("max_tool_calls", max_tool_calls)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(f"{label} must be a positive integer, got {value!r}")
        self._max_tool_calls = max_tool_calls
        converted = []
        for tool in tools:
            if isinstance(tool, Tool):
                converted.append(tool)
            elif callable(tool):
                converted.append(Tool.from_function(tool))
            else:
                raise ValidationError(f"a tool must be a pepperpy.Tool or a function, got {tool!r}")
        self._options["tools"] = tuple(converted)
        self._max_tool_rounds = max_rounds
        return self

    def with_schema(self, schema: Any) -> Self:
        """Ask for structured output: a pydantic model class or a JSON-schema dict."""
        if isinstance(schema, dict):
            name, json_schema = str(schema.get("title", "response")), schema
        elif isinstance(schema, type) and hasattr(schema, "model_json_schema"):
            name, json_schema = schema.__name__, schema.model_json_schema()
        else:
            raise ValidationError(
                "with_schema() takes a pydantic model class or a JSON schema dict, "
                f"got {schema!r}"
            )
        self._schema = schema
        self._options["response_format"] = ResponseFormat(name=name, schema=json_schema)
        return self

    def with_timeout(self, seconds: float) -> Self:
        """A deadline for this chat's whole answer: every retry, fallback and tool round
        inside it (``ProviderTimeoutError`` past it; overrides ``PepperPy.with_timeout``
        when shorter)."""
        self._timeout = check_timeout(seconds, where="chat.with_timeout()")
        return self

    def in_conversation(self, conversation_id: str) -> Self:
        """Prepend this conversation's stored history and save the new exchange."""
        if self._history_factory is None:
            raise ValidationError(
                "conversation history needs storage: call with_storage('sqlite') first"
            )
        self._conversation = conversation_id
        return self

    # -- running ------------------------------------------------------------------
    async def generate(self) -> GenerationResult:
        """Generate one answer (running tool functions and validating schemas)."""
        # One coroutine, not more: see ReliableLLM.generate on why depth costs. The
        # steps are inline for the same reason (every chat request runs them).
        token = None if self._timeout is None else pin(Deadline.after(self._timeout))
        try:
            if self._odd or not self._asked:  # _check_messages, called only when it acts
                self._check_messages()
            provider = self._layers.get("llm") or await self._provider_getter()
            messages, history = list(self._messages), None
            if self._conversation is not None:
                messages, history = await self._with_history(messages)
            tools: tuple[Tool, ...] = self._options.get("tools", ())
            if tools or self._configured_tools is not None:
                tools = await self._tools()
            options = (self._request_options(tools) if tools or self._options or self._defaults
                       else _PLAIN)
            if tools:
                loop = self._loop(provider, tools, options, current_deadline())
                outcome = await loop.rounds_after(messages, await loop.first(messages))
                result = outcome.result
                if outcome.exhausted:
                    raise self._exhausted(result, provider)
                answer = outcome.added[-1]
                added = outcome.added
            else:
                # No tool offered: one model call is the whole loop (the tool loop's
                # outcome when nothing is runnable), made without building the loop.
                result = await provider.generate(messages, options)
                answer = Message(MessageRole.ASSISTANT, result.content, None,  # positional:
                                 result.tool_calls)  # cheaper than keywords to a class
                added = [answer]
            result.messages = [*messages, answer]
            if self._schema is not None and not result.tool_calls:
                # Pending calls to function-less tools are the caller's to answer first.
                result.parsed = _parse_structured(self._schema, result.content)
            if history is not None:
                await history.append([*_for_history(self._messages), *added])
            return result
        finally:
            if token is not None:
                unpin(token)

    def stream(self) -> AsyncIterator[GenerationChunk]:
        """Stream the answer chunk by chunk; tools run between rounds as in generate().

        Tool rounds show as chunks with ``kind`` "tool_calls" and "tool_result" and
        empty ``content``.
        """
        # Nothing runs before the first chunk is asked for. A plain chat (no tools, no
        # history) on a built layer is read straight from the layer, which runs
        # _plain_start at its first step: one generator level less on every chunk.
        layer = self._layers.get("llm")
        if (type(layer) is ReliableLLM and self._conversation is None
                and self._configured_tools is None and not self._options.get("tools")):
            return layer.chat_stream(self._plain_start)
        return self._stream()

    def _plain_start(self) -> tuple[list[Message], GenerationOptions, Deadline | None]:
        """A plain chat stream's first step: what ``_stream`` does before its model call."""
        if self._odd or not self._asked:  # _check_messages, called only when it acts
            self._check_messages()
        options = self._request_options(()) if self._options or self._defaults else _PLAIN
        return (list(self._messages), options,
                None if self._timeout is None else Deadline.after(self._timeout))

    async def _stream(self) -> AsyncIterator[GenerationChunk]:
        provider, messages, history = await self._prepare()
        deadline = None if self._timeout is None else Deadline.after(self._timeout)
        tools: tuple[Tool, ...] = self._options.get("tools", ())
        if tools or self._configured_tools is not None:
            tools = await self._tools()
        options = (self._request_options(tools) if tools or self._options or self._defaults
                   else _PLAIN)
        if tools:
            loop = self._loop(provider, tools, options, deadline or current_deadline())
            rounds = loop.stream(messages)
            try:
                async for chunk in rounds:
                    yield chunk
            finally:
                await rounds.aclose()  # a caller that stops reading stops the rounds now
            outcome = loop.outcome
            assert outcome is not None
            if outcome.exhausted:
                raise self._exhausted(outcome.result, provider)
            if history is not None:
                await history.append([*_for_history(self._messages), *outcome.added])
            return
        # No tool offered: the model's chunks pass straight through (what the tool loop
        # does when nothing is runnable: a chunk with tool calls, which are the caller's
        # to answer, comes last), and the answer is put together only for the history.
        with pinned(deadline):  # the layer reads the deadline on this call
            chunks = provider.generate_stream(messages, options)
        parts: list[str] | None = [] if history is not None else None
        held: GenerationChunk | None = None
        try:
            async for chunk in chunks:
                if parts is not None:
                    parts.append(chunk.content)
                if chunk.tool_calls:
                    held = chunk  # passed on once the answer is over
                    continue
                yield chunk
        finally:  # a caller that stops reading closes the provider's stream now
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
        if held is not None:
            yield held
        if history is not None:
            assert parts is not None
            answer = Message(MessageRole.ASSISTANT, "".join(parts),
                             tool_calls=held.tool_calls if held is not None else ())
            await history.append([*_for_history(self._messages), answer])

    async def _tools(self) -> tuple[Tool, ...]:
        """The tools this chat offers: its own, then the configured providers'."""
        tools: tuple[Tool, ...] = self._options.get("tools", ())
        if self._configured_tools is not None:
            tools = (*tools, *await self._configured_tools())
        return check_unique(tools) if tools else tools

    def _loop(self, provider: LLMProvider, tools: tuple[Tool, ...],
              options: GenerationOptions, deadline: Deadline | None) -> ToolLoop:
        runner = ToolRunner(tools, max_tool_calls=self._max_tool_calls,
                            tracing=self._tracing, deadline=deadline)
        return ToolLoop(provider, runner, options, max_rounds=self._max_tool_rounds,
                        deadline=deadline)

    def _exhausted(self, result: GenerationResult, provider: LLMProvider) -> ProviderError:
        names = ", ".join(sorted({c.name for c in result.tool_calls}))
        return ProviderError(
            f"the model was still calling tools ({names}) after {self._max_tool_rounds} "
            "round(s) of tool results; raise with_tools(..., max_rounds=N) or make the "
            "prompt say when to stop",
            provider=provider.provider_name,
        )

    def generate_sync(self) -> GenerationResult:
        """``generate()`` for scripts; safe inside a running event loop."""
        return self._run(self.generate())

    def stream_sync(self) -> list[GenerationChunk]:
        """All chunks of ``stream()``, for scripts."""

        async def collect() -> list[GenerationChunk]:
            return [chunk async for chunk in self.stream()]

        return self._run(collect())

    # -- internals ------------------------------------------------------------------
    def _request_options(self, tools: tuple[Tool, ...]) -> GenerationOptions:
        """The request's options: with_llm()'s defaults, then this chat's (when there
        are none of either, ``_PLAIN`` is used instead)."""
        return GenerationOptions(**{**self._defaults, **self._options, "tools": tools})

    def _set(self, name: str, value: Any, kind: type) -> Self:
        if not isinstance(value, kind):
            raise ValidationError(f"{name} must be {kind.__name__}, got {value!r}")
        self._options[name] = value
        return self

    async def _prepare(self) -> tuple[LLMProvider, list[Message], ConversationHistory | None]:
        self._check_messages()
        provider = self._layers.get("llm") or await self._provider_getter()
        messages, history = list(self._messages), None
        if self._conversation is not None:
            messages, history = await self._with_history(messages)
        return provider, messages, history

    def _check_messages(self) -> None:
        asked = False
        for number, m in enumerate(self._messages, 1):
            if not m.content.isascii():  # ASCII is always sendable: no label to write
                check_text(m.content, f"message {number} ({m.role.value})")
            asked = asked or (m.role is MessageRole.USER and bool(m.content.strip()))
        if not asked:
            raise ValidationError(
                "the chat has no user message: add one with .with_user('...') before generating"
            )

    async def _with_history(self, messages: list[Message]
                            ) -> tuple[list[Message], ConversationHistory | None]:
        """The conversation's stored turns after the system prompts, and its history."""
        if self._history_factory is None:
            return messages, None
        assert self._conversation is not None
        history = self._history_factory(self._conversation)
        past = await history.messages()
        system = [m for m in messages if m.role is MessageRole.SYSTEM]
        rest = [m for m in messages if m.role is not MessageRole.SYSTEM]
        return [*system, *past, *rest], history


def _for_history(messages: Sequence[Message]) -> list[Message]:
    """The messages a turn adds to a conversation: system prompts are per request."""
    return [m for m in messages if m.role is not MessageRole.SYSTEM]


def _parse_structured(schema: Any, content: str) -> Any:
    """Validate the model's JSON against the requested schema."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ProviderError(
            f"structured output requested but the model's answer is not JSON ({exc}); "
            "try a stronger model or a simpler schema"
        ) from exc
    if isinstance(schema, dict):
        import jsonschema

        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as exc:
            raise ProviderError(
                f"the model's JSON does not match the schema: {exc.message}"
            ) from exc
        return data
    import pydantic

    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ProviderError(
            f"the model's JSON does not match {schema.__name__}: "
            f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']}"
        ) from exc
