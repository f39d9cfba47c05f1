"""Deadline timers of event loops in different threads (a server's worker threads, each
with its own loop): one loop's timer firing never stops another's from firing, and a
timer that could not run never leaves a loop without deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from pepperpy import ProviderTimeoutError
from pepperpy.llm import (
    GenerationOptions,
    Message,
    MessageRole,
)
from pepperpy.reliability.deadline import deadline_scope
from pepperpy.reliability.layer import ReliableLLM
from pepperpy.reliability.watchdog import Deadlines
from tests.reliability.sleepers import layer


def _llm() -> ReliableLLM:
    return layer()[1]


async def _outcome(llm: ReliableLLM, seconds: float, sleep: float, stream: bool) -> str:
    messages = [Message(MessageRole.USER, str(sleep))]
    try:
        with deadline_scope(seconds):
            if stream:
                parts = [c.content async for c in llm.generate_stream(messages,
                                                                       GenerationOptions())]
                return "".join(parts)
            return (await llm.generate(messages, GenerationOptions())).content
    except ProviderTimeoutError:
        return "timeout"


def _timer_context(loop: asyncio.AbstractEventLoop) -> Any:
    (handle,) = [h for h in loop._scheduled  # type: ignore[attr-defined]
                 if not h.cancelled()
                 and isinstance(getattr(h._callback, "__self__", None), Deadlines)]
    return handle._context


def test_a_timer_of_another_loop_running_at_the_same_moment(caplog: Any) -> None:
    """The other thread's loop is inside its deadline timer's callback (held there, as if
    both fired at once) while this loop's timer fires: that call still ends at its
    deadline, and so does every later one on this loop, once the other is done."""
    release, held = threading.Event(), threading.Event()

    def other_loop() -> None:
        async def main() -> None:
            task = asyncio.create_task(_outcome(_llm(), 30.0, 30.0, False))
            await asyncio.sleep(0.05)
            loop = asyncio.get_running_loop()
            holder = threading.Thread(target=_timer_context(loop).run, args=(release.wait, 20))
            holder.start()
            held.set()
            await loop.run_in_executor(None, release.wait, 20)
            holder.join()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(main())

    thread = threading.Thread(target=other_loop)
    thread.start()

    async def here() -> list[str]:
        llm = _llm()
        try:
            assert held.wait(10)
            outcomes = [await _outcome(llm, 0.2, 1.5, False)]
        finally:
            release.set()
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 20)
        # the other loop is done: nothing holds its timer now
        outcomes += [await _outcome(llm, 0.2, 1.5, stream) for stream in (True, False)]
        return outcomes

    assert asyncio.run(here()) == ["timeout"] * 3
    assert "cannot enter context" not in caplog.text


async def test_a_stream_read_on_by_another_task_times_out_there() -> None:
    """A stream's first chunk is read in one task and the rest in another (a reader task,
    ``asyncio.wait_for`` on Python 3.11): the deadline cancels the task waiting for the
    provider, never the first one, which is busy with something else by then."""
    llm = _llm()
    with deadline_scope(0.3):
        stream = llm.generate_stream([Message(MessageRole.USER, "3")], GenerationOptions())
    chunks = stream.__aiter__()
    assert (await chunks.__anext__()).content == "first "

    async def read_on() -> str:
        try:
            return (await chunks.__anext__()).content
        except ProviderTimeoutError:
            return "timeout"

    loop = asyncio.get_running_loop()
    started = loop.time()
    reader = asyncio.create_task(read_on())
    unrelated = "done"
    try:
        await asyncio.sleep(1.0)  # this task's own business, past the stream's deadline
    except asyncio.CancelledError:
        unrelated = "cancelled"
    assert unrelated == "done"
    assert await reader == "timeout"
    assert loop.time() - started < 2.5  # the provider would have taken 3 s
