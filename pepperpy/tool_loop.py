"""The model -> tools -> model loop shared by chats and agents, whole or streamed.

Invariants:
- a round is one model call; tools run only when PepperPy can answer every call the
  model made (calls to tools without a function are the caller's, and end the loop);
- at most ``max_rounds`` rounds of tool results are sent back; a model still calling
  tools after that ends the loop with ``exhausted`` set (the caller decides: the chat
  raises, the agent reports it);
- streamed, the answer's text chunks pass through as they come; a round's tool calls
  and each tool's result are extra chunks (``kind`` "tool_calls" / "tool_result") with
  empty ``content``, so code that prints ``chunk.content`` sees only the text;
- every model call goes through the provider given (the reliability layer), so
  retries, fallbacks, cache rules, usage and spans apply to each round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    Message,
    MessageRole,
    ToolCall,
    Usage,
)
from pepperpy.reliability.deadline import Deadline, pinned

if TYPE_CHECKING:
    from pepperpy.llm import LLMProvider
    from pepperpy.tools import ToolRunner, ToolStep

__all__ = ["Outcome", "ToolLoop"]


@dataclass
class Outcome:
    """How a loop ended: the last answer, what it added to the conversation, its steps."""

    result: GenerationResult
    added: list[Message] = field(default_factory=list)
    steps: list[ToolStep] = field(default_factory=list)
    rounds: int = 0
    exhausted: bool = False


class ToolLoop:
    """One run of the loop over ``llm`` with ``runner`` answering the tool calls."""

    def __init__(
        self,
        llm: LLMProvider,
        runner: ToolRunner,
        options: GenerationOptions,
        *,
        max_rounds: int,
        deadline: Deadline | None = None,
    ) -> None:
        self._llm, self._runner, self._options = llm, runner, options
        self._max_rounds = max_rounds
        self._deadline = deadline
        self.outcome: Outcome | None = None

    async def generate(self, messages: list[Message]) -> Outcome:
        """Run to the end; ``messages`` grows by each round's tool turn."""
        return await self.rounds_after(messages, await self.first(messages))

    def first(self, messages: list[Message]) -> Awaitable[GenerationResult]:
        """The first model call, for a caller to await itself (``generate`` is
        ``rounds_after(messages, await first(messages))``): while the provider works,
        the loop is not one more coroutine level that the SDK's every suspension and
        exception passes through."""
        return self._llm.generate(messages, self._options)

    async def rounds_after(self, messages: list[Message], result: GenerationResult) -> Outcome:
        """The tool rounds after the model's answer ``result``, to the end."""
        added: list[Message] = []
        rounds = 0
        while result.tool_calls and self._runner.runnable(result.tool_calls):
            if rounds == self._max_rounds:
                return self._end(result, added, rounds, exhausted=True)
            rounds += 1
            turn = await self._runner.answer(result.content, result.tool_calls)
            messages.extend(turn)
            added.extend(turn)
            result = await self._llm.generate(messages, self._options)
        added.append(Message(MessageRole.ASSISTANT, result.content,
                             tool_calls=result.tool_calls))
        return self._end(result, added, rounds)

    async def stream(self, messages: list[Message]) -> AsyncGenerator[GenerationChunk, None]:
        """Stream every round; ``self.outcome`` is set once the stream is spent."""
        added: list[Message] = []
        rounds = 0
        while True:
            parts: list[str] = []
            held: GenerationChunk | None = None
            last: GenerationChunk | None = None
            with pinned(self._deadline):  # the layer reads the deadline on this call
                chunks = self._llm.generate_stream(messages, self._options)
            async for chunk in chunks:
                last = chunk
                if chunk.tool_calls:
                    held = chunk  # decided once the round is over
                    parts.append(chunk.content)
                    continue
                parts.append(chunk.content)
                yield chunk
            text = "".join(parts)
            calls = held.tool_calls if held is not None else ()
            result = _result(text, calls, last)
            if not calls or not self._runner.runnable(calls):
                if held is not None:
                    yield held
                added.append(Message(MessageRole.ASSISTANT, text, tool_calls=calls))
                self._end(result, added, rounds)
                break
            if rounds == self._max_rounds:
                self._end(result, added, rounds, exhausted=True)
                break
            rounds += 1
            assert held is not None
            yield dataclasses.replace(held, content="", kind="tool_calls")
            turn = await self._runner.answer(text, calls)
            messages.extend(turn)
            added.extend(turn)
            for message, step in zip(turn[1:], self._runner.steps[1 - len(turn):], strict=True):
                yield GenerationChunk("", kind="tool_result", provider=held.provider, metadata={
                    "tool_call_id": message.tool_call_id, "name": message.name,
                    "result": message.content, "is_error": step.is_error})

    def _end(self, result: GenerationResult, added: list[Message], rounds: int, *,
             exhausted: bool = False) -> Outcome:
        self.outcome = Outcome(result, added, list(self._runner.steps), rounds, exhausted)
        return self.outcome


def _result(text: str, calls: Sequence[ToolCall], last: GenerationChunk | None
            ) -> GenerationResult:
    usage: Usage | None = last.usage if last is not None else None
    return GenerationResult(
        content=text, tool_calls=tuple(calls),
        finish_reason=last.finish_reason if last is not None else "stop",
        usage=usage, provider=last.provider if last is not None else None,
    )


