"""``pepper.agent(instructions=..., max_steps=8)``: model -> tools -> model until an answer.

Invariants:
- a step is one model call; a run makes at most ``max_steps`` of them, and a model
  still calling tools on the last one ends the run with ``stopped="max_steps"`` and a
  ``content`` that says so (the pending calls are not run), never with an exception;
- every model call goes through the reliability layer (retries, fallbacks, cache
  rules, usage, spans) and every tool call through ``ToolRunner`` (schema check, error
  results, ``max_tool_calls``, result size, its own span); ``timeout`` is a deadline
  for the whole run;
- with ``conversation_id`` the run starts from that conversation's stored messages
  and saves the task, the tool turns and the answer, so a later run continues it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pepperpy.core import ConfigurationError, ValidationError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    Message,
    MessageRole,
    Tool,
)
from pepperpy.tools import MAX_TOOL_CALLS, ToolRunner, ToolStep, check_unique

if TYPE_CHECKING:
    from pepperpy.history import ConversationHistory
    from pepperpy.llm import LLMProvider
    from pepperpy.tool_loop import Outcome, ToolLoop

__all__ = ["Agent", "AgentResult"]


@dataclass
class AgentResult:
    """What a run produced: the answer, each tool call made, and why it stopped."""

    content: str
    steps: list[ToolStep] = field(default_factory=list)
    #: Model calls made (at most ``max_steps``).
    model_calls: int = 0
    #: ``None`` when the model answered; ``"max_steps"`` when the budget ran out.
    stopped: str | None = None
    #: The last model answer (usage, model, provider).
    last: GenerationResult | None = None


class Agent:
    """Runs tasks with the configured LLM and tools; see the module docstring."""

    def __init__(
        self,
        *,
        llm: Callable[[], Awaitable[LLMProvider]],
        configured_tools: Callable[[], Awaitable[list[Tool]]] | None,
        history: Callable[[str], ConversationHistory] | None,
        run: Callable[[Any], Any],
        tracing: Any,
        instructions: str,
        max_steps: int,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        max_tool_calls: int = MAX_TOOL_CALLS,
        timeout: float | None = None,
        conversation_id: str | None = None,
        model: str | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(instructions, str):
            raise ValidationError(f"agent(instructions=...) takes a string, got {instructions!r}")
        for label, value in (("max_steps", max_steps), ("max_tool_calls", max_tool_calls)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(
                    f"agent({label}=...) must be a whole number >= 1, got {value!r}: "
                    f"{label} counts {'model calls' if label == 'max_steps' else 'tool calls'}"
                    " per run (e.g. max_steps=8)"
                )
        if conversation_id is not None and history is None:
            raise ConfigurationError(
                "agent(conversation_id=...) keeps the agent's memory in storage: call "
                "with_storage('sqlite') (or another storage provider) first"
            )
        if timeout is not None:
            from pepperpy.reliability.deadline import check_timeout

            timeout = check_timeout(timeout, where="agent(timeout=...)")
        self._llm, self._configured, self._history = llm, configured_tools, history
        self._run_sync, self._tracing = run, tracing
        self.instructions, self.max_steps = instructions, max_steps
        self.max_tool_calls, self.timeout = max_tool_calls, timeout
        self.conversation_id = conversation_id
        self._model = model
        #: with_llm()'s request defaults (max_tokens, temperature, ...), as chats get them
        self._defaults = dict(defaults or {})
        self._tools = tuple(t if isinstance(t, Tool) else _as_tool(t) for t in tools)

    async def run(self, task: str) -> AgentResult:
        """Work on ``task`` until the model answers or ``max_steps`` is reached."""
        from pepperpy.reliability.deadline import deadline_scope

        with deadline_scope(self.timeout), self._span() as span:
            loop, messages, history = await self._start(task)
            outcome = await loop.generate(messages)
            result = await self._finish(task, outcome, history)
            self._record(span, result)
            return result

    async def stream(self, task: str) -> AsyncIterator[GenerationChunk]:
        """``run()`` as a stream: the answer's text, tool rounds as marked chunks
        (``kind`` "tool_calls"/"tool_result"); a run stopped by ``max_steps`` ends with
        a chunk that says so (``finish_reason="max_steps"``). Its model and tool calls
        hang under one ``invoke_agent`` span, as in ``run()``."""
        from pepperpy.reliability.deadline import Deadline

        tracing = self._tracing
        span = tracing.start("invoke_agent", self._span_attributes()) if tracing else None
        within = tracing.within if tracing else nullcontext
        deadline = Deadline.after(self.timeout) if self.timeout is not None else None
        try:
            with within(span):
                loop, messages, history = await self._start(task, deadline)
            chunks = cast(AsyncGenerator[GenerationChunk, None], loop.stream(messages))
            try:
                while True:
                    with within(span):
                        try:
                            chunk = await chunks.__anext__()
                        except StopAsyncIteration:
                            break
                    yield chunk
            finally:
                await chunks.aclose()
            assert loop.outcome is not None
            with within(span):
                result = await self._finish(task, loop.outcome, history)
            self._record(span, result)
            if result.stopped is not None:
                yield GenerationChunk(result.content, finish_reason=result.stopped)
        except BaseException as exc:
            if tracing is not None and not isinstance(exc, GeneratorExit):
                tracing.fail(span, exc)
            raise
        finally:
            if span is not None:
                span.end()

    def _span(self) -> Any:
        """The run's ``invoke_agent`` span: its model and tool calls are its children."""
        if self._tracing is None:
            return nullcontext()
        return self._tracing.enclosing("invoke_agent", self._span_attributes())

    def _span_attributes(self) -> dict[str, Any]:
        return {"gen_ai.operation.name": "invoke_agent",
                "pepperpy.agent.max_steps": self.max_steps}

    @staticmethod
    def _record(span: Any, result: AgentResult) -> None:
        if span is not None:
            span.set_attribute("pepperpy.agent.model_calls", result.model_calls)
            span.set_attribute("pepperpy.agent.tool_calls", len(result.steps))

    def run_sync(self, task: str) -> AgentResult:
        """``run()`` for scripts."""
        return self._run_sync(self.run(task))  # type: ignore[no-any-return]

    async def _start(self, task: str, deadline: Any = None
                     ) -> tuple[ToolLoop, list[Message], ConversationHistory | None]:
        from pepperpy.reliability.deadline import current_deadline
        from pepperpy.tool_loop import ToolLoop

        if not isinstance(task, str) or not task.strip():
            raise ValidationError("agent.run() needs a non-empty task string")
        tools = list(self._tools)
        if self._configured is not None:
            tools.extend(await self._configured())
        tools = list(check_unique(tools))
        history = None
        past: list[Message] = []
        if self.conversation_id is not None and self._history is not None:
            history = self._history(self.conversation_id)
            past = await history.messages()
        system = [Message(MessageRole.SYSTEM, self.instructions)] if self.instructions else []
        messages = [*system, *past, Message(MessageRole.USER, task)]
        deadline = deadline or current_deadline()
        runner = ToolRunner(tools, max_tool_calls=self.max_tool_calls, tracing=self._tracing,
                            deadline=deadline)
        options = GenerationOptions(**self._defaults, model=self._model, tools=tuple(tools))
        loop = ToolLoop(await self._llm(), runner, options, max_rounds=self.max_steps - 1,
                        deadline=deadline)
        return loop, messages, history

    async def _finish(self, task: str, outcome: Outcome,
                      history: ConversationHistory | None) -> AgentResult:
        added = list(outcome.added)
        content, stopped = outcome.result.content, None
        if outcome.exhausted:
            names = ", ".join(sorted({c.name for c in outcome.result.tool_calls}))
            stopped = "max_steps"
            content = (
                f"stopped after {self.max_steps} step(s) without a final answer: the model "
                f"was still calling tools ({names}); raise max_steps or make the "
                "instructions say when to stop"
            )
            added.append(Message(MessageRole.ASSISTANT, content))
        if history is not None:
            await history.append([Message(MessageRole.USER, task), *added])
        return AgentResult(content, outcome.steps, outcome.rounds + 1, stopped, outcome.result)


def _as_tool(function: Any) -> Tool:
    if not callable(function):
        raise ValidationError(f"an agent tool must be a pepperpy.Tool or a function, "
                              f"got {function!r}")
    return Tool.from_function(function)
