"""Tools the model may call: the ``tools`` provider interface and the rules every call obeys.

A tools provider (the MCP client, for one) lists tools and calls them; Python functions
passed to ``chat.with_tools([...])`` are tools too. ``ToolRunner`` answers the model's
tool calls for one chat or agent run.

Invariants of ``ToolRunner``:
- arguments are checked against the tool's JSON schema before the tool runs;
- nothing a tool does raises through the caller's code: an unknown name, arguments that
  do not match, a tool that raises, fails or times out all come back to the model as an
  error result (text starting ``error:``), so it can correct itself (only PepperPy
  misuse inside a tool, a ``ConfigurationError``, propagates);
- a run makes at most ``max_tool_calls`` calls; later calls are answered with an error
  and not run;
- a result longer than ``max_result_chars`` is cut, with a note saying so, before it
  re-enters the prompt;
- a call never outlives the run's deadline (``with_timeout``): past it the run raises
  ``ProviderTimeoutError``; one ``Tool.timeout`` past is an error result instead.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pepperpy.core import BaseProvider, ConfigurationError
from pepperpy.llm import Message, MessageRole, Tool, ToolCall

__all__ = [
    "ToolBox",
    "ToolResult",
    "ToolRunner",
    "ToolStep",
    "ToolsProvider",
    "check_tool_settings",
    "check_unique",
    "provider_tools",
]

#: The longest tool result (characters) sent back to the model by default.
MAX_RESULT_CHARS = 16_000
#: Tool calls one chat or agent run may make by default.
MAX_TOOL_CALLS = 32

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ToolResult:
    """What a tool answered: text for the model, and whether it is an error."""

    content: str
    is_error: bool = False


class ToolsProvider(BaseProvider, abc.ABC):
    """Interface of the ``tools`` category: list tools, call one by name."""

    category: ClassVar[str] = "tools"

    @abc.abstractmethod
    async def list_tools(self) -> list[Tool]:
        """The tools offered (name, description, JSON-schema parameters; no function)."""

    @abc.abstractmethod
    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call ``name``; a failure the tool reports is ``ToolResult(..., is_error=True)``."""


@dataclass(frozen=True)
class ToolStep:
    """One tool call of a run: what the model asked for and what it got back."""

    name: str
    arguments: dict[str, Any]
    result: str
    is_error: bool = False
    tool_call_id: str = ""


async def provider_tools(
    provider: ToolsProvider, *, prefix: str = "", timeout: float | None = None
) -> list[Tool]:
    """The provider's tools as ``Tool`` objects whose function calls the provider."""
    tools = []
    for tool in await provider.list_tools():
        if not isinstance(tool, Tool) or not _NAME.match(prefix + tool.name):
            raise ConfigurationError(
                f"tools provider {provider.provider_name!r} offers a tool named "
                f"{getattr(tool, 'name', tool)!r}; names must match [A-Za-z0-9_-]{{1,64}} "
                "(a prefix= counts): fix the server's tool names or shorten the prefix"
            )

        tools.append(Tool(prefix + tool.name, tool.description, tool.parameters or
                          {"type": "object", "properties": {}},
                          function=_Bound(provider, tool.name, timeout)))
    return tools


class _Bound:
    """A provider's tool as a callable (``**arguments`` in, ``ToolResult`` out)."""

    def __init__(self, provider: ToolsProvider, name: str, timeout: float | None) -> None:
        self.provider, self.name, self.timeout = provider, name, timeout
        self.source = provider.provider_name

    def __call__(self, **arguments: Any) -> Awaitable[ToolResult]:
        return self.provider.call_tool(self.name, arguments)


def check_unique(tools: Sequence[Tool]) -> tuple[Tool, ...]:
    """``tools``, or a ConfigurationError naming both sources of a clashing name."""
    seen: dict[str, Tool] = {}
    for tool in tools:
        if tool.name in seen:
            raise ConfigurationError(
                f"two tools are named {tool.name!r} (from {_source(seen[tool.name])} and "
                f"{_source(tool)}); the model could not tell them apart: give one tools "
                "provider a prefix, e.g. with_tools('mcp', ..., prefix='files_'), or rename "
                "the function"
            )
        seen[tool.name] = tool
    return tuple(tools)


def _source(tool: Tool) -> str:
    function = tool.function
    if isinstance(function, _Bound):
        return f"tools provider {function.source!r}"
    return "a Python function" if function is not None else "a Tool without a function"


class ToolRunner:
    """Runs the model's tool calls for one run, within its budgets; records the steps."""

    def __init__(
        self,
        tools: Sequence[Tool],
        *,
        max_tool_calls: int = MAX_TOOL_CALLS,
        max_result_chars: int = MAX_RESULT_CHARS,
        tracing: Any = None,
        deadline: Any = None,
    ) -> None:
        self._tools = {t.name: t for t in tools}
        self._max_calls = max_tool_calls
        self._max_chars = max_result_chars
        self._tracing = tracing
        self._deadline = deadline
        self.steps: list[ToolStep] = []

    def runnable(self, calls: Sequence[ToolCall]) -> bool:
        """Whether PepperPy answers every call itself (none is left for the caller)."""
        if not self._tools:
            return False
        # A name that was never offered is answered with an error, so the model can retry.
        return all(
            call.name not in self._tools or self._tools[call.name].function is not None
            for call in calls
        )

    async def answer(self, content: str, calls: Sequence[ToolCall]) -> list[Message]:
        """The assistant turn that made ``calls`` and one tool message per call."""
        turn = [Message(MessageRole.ASSISTANT, content, tool_calls=tuple(calls))]
        for call in calls:
            result = await self.call(call)
            self.steps.append(ToolStep(call.name, dict(call.arguments), result.content,
                                       result.is_error, call.id))
            turn.append(Message(MessageRole.TOOL, result.content, name=call.name,
                                tool_call_id=call.id))
        return turn

    async def call(self, call: ToolCall) -> ToolResult:
        """One call, by the rules above (not recorded in ``steps``). What goes back to the
        model is cut to ``max_result_chars``, an error too: a schema mismatch or a tool's
        exception can repeat arguments the model chose, of any length."""
        return self._bounded(await self._reply(call))

    async def _reply(self, call: ToolCall) -> ToolResult:
        tool = self._tools.get(call.name)  # exact: the name as the model sent it
        if tool is None or tool.function is None:
            # The name is the model's (a prompt-injected one's): at most 100 characters
            return _error(f"there is no tool named {_shown(call.name)}; available tools: "
                          f"{', '.join(sorted(self._tools)) or 'none'}")
        if len(self.steps) >= self._max_calls:
            return _error(f"the budget of {self._max_calls} tool call(s) for this run is "
                          "spent; answer with what you have")
        problem = _mismatch(tool, call.arguments)
        if problem is not None:
            return _error(f"the arguments for {call.name!r} do not match its schema: "
                          f"{problem}; call it again with arguments that do")
        span = self._span(call)
        try:
            result = await self._run(tool, call.arguments)
        except BaseException as exc:
            if span is not None:
                self._tracing.fail(span, exc)
                span.end()
            if isinstance(exc, Exception) and not _for_the_caller(exc):
                return _error(f"tool {call.name!r} failed: {type(exc).__name__}: {exc}")
            raise
        if span is not None:
            span.set_attribute("pepperpy.tool.is_error", result.is_error)
            span.end()
        return result

    async def _run(self, tool: Tool, arguments: dict[str, Any]) -> ToolResult:
        function = tool.function
        assert function is not None
        limit = function.timeout if isinstance(function, _Bound) else None
        value: Any = function(**arguments)
        if inspect.isawaitable(value):
            value = await _within(value, limit, self._deadline, tool.name)
        if isinstance(value, ToolResult):
            return value
        return ToolResult(value if isinstance(value, str) else json.dumps(value, default=str))

    def _bounded(self, result: ToolResult) -> ToolResult:
        text = result.content
        if len(text) <= self._max_chars:
            return result
        note = f"\n[cut: the tool returned {len(text)} characters; the first " \
               f"{self._max_chars} are shown]"
        return dataclasses.replace(result, content=text[: self._max_chars] + note)

    def _span(self, call: ToolCall) -> Any:
        if self._tracing is None:
            return None
        return self._tracing.start(f"execute_tool {call.name}", {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": _shown(call.id, quoted=False)})  # the server's text


async def _within(awaitable: Awaitable[Any], limit: float | None, deadline: Any,
                  name: str) -> Any:
    """Await a tool, bounded by its own timeout (an error result) and the run's deadline."""
    when = None
    loop = asyncio.get_running_loop()
    if limit is not None:
        when = loop.time() + limit
    if deadline is not None and (when is None or deadline.when <= when):
        try:
            async with asyncio.timeout_at(deadline.when):
                return await awaitable
        except TimeoutError:
            raise deadline.expired_error(f"tool {name!r}") from None
    if when is None:
        return await awaitable
    try:
        async with asyncio.timeout_at(when):
            return await awaitable
    except TimeoutError:
        return _error(f"tool {name!r} did not finish within its {limit:g} s timeout")


def _for_the_caller(exc: BaseException) -> bool:
    """The run's deadline and PepperPy misuse inside a tool are the application's to
    fix, not the model's: they propagate."""
    from pepperpy.core import ProviderTimeoutError

    return isinstance(exc, ProviderTimeoutError | ConfigurationError)


def _mismatch(tool: Tool, arguments: Any) -> str | None:
    """Why ``arguments`` do not fit the tool (schema, then the function's signature)."""
    if not isinstance(arguments, dict):
        return f"expected an object, got {type(arguments).__name__}"
    import jsonschema

    try:
        jsonschema.validate(arguments, tool.parameters)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{where + ': ' if where else ''}{exc.message}"
    except jsonschema.SchemaError as exc:
        return f"the tool's own schema is invalid ({exc.message})"
    function = tool.function
    if function is not None and not isinstance(function, _Bound):
        try:
            inspect.signature(function).bind(**arguments)
        except TypeError as exc:
            return str(exc)
    return None


def _shown(text: Any, *, quoted: bool = True) -> str:
    """A name or id the model sent, as a message or a span shows it: at most 100
    characters, so a megabyte of it never flows back into the prompt, logs or traces.
    (The provider, which knows the API key, redacts it from its own messages.)"""
    from pepperpy.http_errors import shown  # not at import: it imports email.utils

    text = shown(str(text), 100)
    return repr(text) if quoted else text


def _error(text: str) -> ToolResult:
    return ToolResult(f"error: {text}", is_error=True)


def check_tool_settings(prefix: Any, timeout: Any) -> None:
    """``with_tools(prefix=, timeout=)``, or a ValidationError naming the fix."""
    from pepperpy.core import ValidationError

    if not isinstance(prefix, str) or (prefix and not _NAME.match(prefix)):
        raise ValidationError(f"with_tools(prefix=...) takes letters, digits, '_' and '-', "
                              f"got {prefix!r}")
    if timeout is not None:
        from pepperpy.reliability.deadline import check_timeout

        check_timeout(timeout, where="with_tools(timeout=...)")


Source = tuple[Callable[[], Awaitable[ToolsProvider]], str, "float | None"]


class ToolBox:
    """The tools of every configured tools provider (``pepper.tools``)."""

    def __init__(self, sources: Sequence[Source], *, tracing: Any = None) -> None:
        self._sources = sources
        self._tracing = tracing

    async def collect(self) -> list[Tool]:
        """Every provider's tools, callable; a name offered twice is refused."""
        tools: list[Tool] = []
        for getter, prefix, timeout in self._sources:
            tools.extend(await provider_tools(await getter(), prefix=prefix, timeout=timeout))
        return list(check_unique(tools))

    async def list(self) -> list[Tool]:
        """The tools offered (name, description, parameters)."""
        return [dataclasses.replace(t, function=None) for t in await self.collect()]

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> ToolResult:
        """Call one tool as the model would: validated, bounded, failures as results."""
        from pepperpy.core import ValidationError

        tools = {t.name: t for t in await self.collect()}
        tool = tools.get(name)
        if tool is None:
            raise ValidationError(f"there is no tool named {_shown(name)}; available tools: "
                                  f"{', '.join(sorted(tools)) or 'none'}")
        problem = _mismatch(tool, arguments if arguments is not None else {})
        if problem is not None:
            raise ValidationError(f"the arguments for {name!r} do not match its schema: "
                                  f"{problem}")
        from pepperpy.reliability.deadline import current_deadline

        runner = ToolRunner([tool], tracing=self._tracing, deadline=current_deadline())
        return await runner.call(ToolCall("direct", name, arguments or {}))
