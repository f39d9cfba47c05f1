"""Call deadlines share one timer per event loop: every call still ends at its own
deadline, never at another's, and a loop closed mid-call is not kept alive."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Callable

import pytest

from pepperpy import PepperPy, ProviderTimeoutError
from pepperpy.llm import (
    GenerationOptions,
    Message,
    MessageRole,
)
from pepperpy.reliability.deadline import Deadline, deadline_scope
from pepperpy.reliability.layer import ReliableLLM
from pepperpy.reliability.watchdog import Deadlines, Watchdog
from pepperpy_testing.wire import OpenAIServer
from tests.reliability.sleepers import layer


async def timed(llm: ReliableLLM, seconds: float, sleep: float, *, stream: bool = False
                ) -> tuple[str, float]:
    """(``"done"`` or ``"timeout"``, seconds taken) of one call under its own deadline."""
    messages = [Message(MessageRole.USER, str(sleep))]
    started = time.perf_counter()
    try:
        with deadline_scope(seconds):
            if stream:
                stream_of = llm.generate_stream(messages, GenerationOptions())
                text = "".join([c.content async for c in stream_of])
            else:
                text = (await llm.generate(messages, GenerationOptions())).content
        outcome = "done" if text.endswith("done") else text
    except ProviderTimeoutError:
        outcome = "timeout"
    return outcome, time.perf_counter() - started


def live_timers(loop: asyncio.AbstractEventLoop) -> int:
    """The loop's pending timers that are PepperPy's deadline timers."""
    return sum(1 for h in loop._scheduled  # type: ignore[attr-defined]
               if not h.cancelled() and isinstance(getattr(h._callback, "__self__", None),
                                                   Deadlines))


@pytest.mark.parametrize("stream", [False, True])
async def test_each_call_ends_at_its_own_deadline(stream: bool) -> None:
    """Short deadlines added after long ones re-arm the timer earlier; a call outliving
    another's deadline is untouched by it; the deadline is never early."""
    rel, llm = layer()
    loop = asyncio.get_running_loop()
    calls = [
        (2.0, 0.5),   # outlives every short deadline below, then answers
        (0.2, 5.0),   # times out at 0.2 although armed after the 2 s one
        (0.4, 5.0),   # times out at 0.4, after the 0.2 s call's timer fired
        (0.2, 0.05),  # answers before its deadline: its timer fires for nothing
        (0.6, 0.3),   # answers after that stale timer fired
    ]
    tasks = [asyncio.create_task(timed(llm, d, s, stream=stream)) for d, s in calls]
    await asyncio.sleep(0.01)
    assert live_timers(loop) == 1
    results = await asyncio.gather(*tasks)
    assert [r[0] for r in results] == ["done", "timeout", "timeout", "done", "done"]
    for (deadline, sleep), (outcome, took) in zip(calls, results, strict=True):
        due = sleep if outcome == "done" else deadline
        assert due <= took <= due + 0.15, (deadline, sleep, outcome, took)
    assert len(rel._deadlines or ()) == 0  # every call removed itself
    await asyncio.sleep(0.01)


async def test_many_concurrent_calls_share_one_timer() -> None:
    rel, llm = layer()
    loop = asyncio.get_running_loop()
    before = len(loop._scheduled)  # type: ignore[attr-defined]
    slow = [asyncio.create_task(timed(llm, 0.3, 5.0)) for _ in range(100)]
    fast = [asyncio.create_task(timed(llm, 5.0, 0.01)) for _ in range(100)]
    # Wait for the fast calls themselves, not a fixed time: on a loaded machine starting
    # 200 tasks can outlast any sleep chosen here, leaving the fast calls still running.
    await asyncio.wait(fast)
    assert live_timers(loop) == 1
    # the finished calls left nothing on the loop's heap (asyncio.sleep's own timers
    # are the slow calls' 100)
    assert len(loop._scheduled) - before <= 100 + 2  # type: ignore[attr-defined]
    assert {(await t)[0] for t in fast} == {"done"}
    results = [await t for t in slow]
    assert {r[0] for r in results} == {"timeout"}
    assert max(r[1] for r in results) < 0.3 + 2.0  # fired at the deadline, not after 5 s
    assert len(rel._deadlines or ()) == 0


async def test_a_closed_watchdog_never_fires_and_the_next_one_does() -> None:
    loop = asyncio.get_running_loop()
    timers = Deadlines(loop)
    soon = Deadline(0.05, loop.time() + 0.05)
    closed = Watchdog(timers, loop, soon, "p", "chat")
    open_ = Watchdog(timers, loop, Deadline(1.0, loop.time() + 1.0), "p", "chat")
    closed.close()
    await asyncio.sleep(0.07)
    assert not closed.fired and not open_.fired
    await asyncio.sleep(1.0)
    assert open_.fired and len(timers) == 0
    assert live_timers(loop) == 0  # nothing left to wait for: no timer re-armed


async def test_an_outside_cancellation_removes_the_call() -> None:
    rel, llm = layer()
    task = asyncio.create_task(timed(llm, 5.0, 5.0))
    await asyncio.sleep(0.05)
    assert len(rel._deadlines or ()) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(rel._deadlines or ()) == 0
    assert await timed(llm, 0.1, 5.0) == ("timeout", pytest.approx(0.1, abs=0.1))


def test_a_loop_closed_mid_call_is_freed_and_the_next_loop_has_its_own_timer() -> None:
    rel, llm = layer()
    loop = asyncio.new_event_loop()

    rel.timeout = 30.0  # the layer's own deadline: no scope left open in the task

    async def abandon() -> None:
        waiting = llm.generate([Message(MessageRole.USER, "60")], GenerationOptions())
        task = asyncio.create_task(waiting)  # type: ignore[arg-type]
        await asyncio.sleep(0.02)
        assert not task.done()  # still waiting when the loop closes

    loop.run_until_complete(abandon())
    assert rel._deadlines is not None and len(rel._deadlines) == 1
    gone = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert gone() is None  # the watchdog still registered holds neither task nor loop
    outcome, took = asyncio.run(timed(llm, 0.1, 5.0))  # a new loop, a new timer
    assert outcome == "timeout" and took < 0.3


async def test_concurrent_sdk_calls_against_a_server(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    """Through the real plugin and SDK: stalled requests time out at their chat's
    deadline while others on the same PepperPy answer, before and after it."""
    openai_server.slow_seconds = 0.8
    async with pepper_for("openai", openai_server).with_timeout(30) as pepper:

        async def one(model: str, timeout: float, stream: bool) -> tuple[str, float]:
            chat = pepper.chat.with_user("hi").with_model(model).with_timeout(timeout)
            started = time.perf_counter()
            try:
                if stream:
                    text = "".join([c.content async for c in chat.stream()])
                else:
                    text = (await chat.generate()).content
            except ProviderTimeoutError:
                return "timeout", time.perf_counter() - started
            return text, time.perf_counter() - started

        plan = [("slow", 0.3), ("m", 5.0), ("slow", 3.0)] * 4
        results = await asyncio.gather(*(one(model, timeout, i % 2 == 0)
                                         for i, (model, timeout) in enumerate(plan)))
    for (model, timeout), (text, took) in zip(plan, results, strict=True):
        if timeout == 0.3:
            assert text == "timeout" and 0.3 <= took < 0.6, (model, timeout, text, took)
        else:
            assert text == "Echo: hi", (model, timeout, text, took)
