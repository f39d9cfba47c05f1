"""Call deadlines on the event loop: one watchdog per call, one timer per loop.

Invariants:
- a watchdog cancels its task only while the task waits for the provider (``arm`` ..
  ``rest``), never across a ``yield`` into the caller's code; its own cancellation
  becomes the deadline's ``ProviderTimeoutError``, one from elsewhere stays itself, and
  one the provider swallowed is taken back (``asyncio.timeout``'s rules);
- every watchdog fires at its deadline (never before it), however many calls are in
  flight, whatever order they end in; a watchdog that is closed never fires;
- the loop's timer is armed for the earliest deadline in flight: a call adds and
  removes itself with dict operations instead of pushing a timer onto the loop's heap
  and leaving it there cancelled until it comes due;
- nothing here holds the loop, a task or the timer strongly: a loop closed with calls
  still in flight is freed as if PepperPy had never watched them.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import sys
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pepperpy.core import ProviderError
    from pepperpy.reliability.deadline import Deadline

__all__ = ["Deadlines", "Watchdog"]

_T = TypeVar("_T")

#: ``asyncio.current_task(loop)``: on 3.11 a Python function around this dict look-up
#: (the layer asks once per streamed chunk), in C from 3.12.
current_task: Callable[[asyncio.AbstractEventLoop], Any] = (
    asyncio.current_task if sys.version_info >= (3, 12)
    else asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]
)



class Deadlines:
    """The watchdogs in flight on one event loop, behind one timer.

    The timer is not disarmed when calls end early: it fires, finds nothing due and
    re-arms for the earliest deadline left (with calls of one timeout, about once per
    timeout, not once per call)."""

    __slots__ = ("_at", "_context", "_dogs", "_handle", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        # The timer's callback reads no context variable: an empty context, not a copy of
        # the caller's. One per loop: a context runs in one thread at a time, and one
        # shared by loops in two threads fails the second timer to fire at once, which
        # then never re-arms (no deadline fires on that loop again).
        self._context = contextvars.Context()
        self._dogs: dict[Watchdog, None] = {}
        self._at = math.inf  # when the timer fires; inf: not armed
        self._handle: weakref.ref[asyncio.TimerHandle] | None = None

    def add(self, dog: Watchdog, loop: asyncio.AbstractEventLoop) -> None:
        self._dogs[dog] = None
        if dog.when < self._at:
            self._arm(loop, dog.when)

    def discard(self, dog: Watchdog) -> None:
        self._dogs.pop(dog, None)

    def __len__(self) -> int:
        return len(self._dogs)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        armed = self._handle() if self._handle is not None else None
        if armed is not None:
            armed.cancel()  # one live timer at a time
        self._at = when
        self._handle = weakref.ref(loop.call_at(when, self._fire, context=self._context))

    def _fire(self) -> None:
        at, self._at, self._handle = self._at, math.inf, None
        loop = asyncio.get_running_loop()
        # asyncio runs a timer up to its clock resolution early: it counts as due
        limit = max(loop.time(), at)
        due = [dog for dog in self._dogs if dog.when <= limit]
        for dog in due:
            del self._dogs[dog]
            dog.fire()
        if self._dogs:
            self._arm(loop, min(dog.when for dog in self._dogs))


class Watchdog:
    """One call's deadline (one for the whole call, not one per chunk or attempt)."""

    __slots__ = ("_cancelling", "_deadline", "_task", "_timers", "_what", "fired", "owed",
                 "waiting", "when")

    def __init__(self, timers: Deadlines, loop: asyncio.AbstractEventLoop,
                 deadline: Deadline, name: str, operation: str) -> None:
        task = current_task(loop)
        assert task is not None
        self._task = weakref.ref(task)
        self._deadline, self.when = deadline, deadline.when
        self._what = (operation, name)  # the message is written only if it expires
        self._cancelling = task.cancelling()
        self.fired = self.waiting = self.owed = False  # owed: our cancel, not yet taken back
        self._timers = timers
        timers._dogs[self] = None  # Deadlines.add, inline: once per call
        if self.when < timers._at:
            timers._arm(loop, self.when)

    def fire(self) -> None:
        """The deadline passed: cancel the task if it is waiting for the provider."""
        self.fired = True
        if self.waiting:
            task = self._task()
            if task is not None:
                self.owed = True
                task.cancel()

    def _expired(self) -> ProviderError:
        operation, name = self._what
        return self._deadline.expired_error(f"{operation} with {name!r}")

    def follow(self, task: asyncio.Task[object]) -> None:
        """A stream read on by another task than the one that started it (a reader task,
        ``asyncio.wait_for`` on Python 3.11): the deadline cancels the task that waits,
        never one that has moved on to other work."""
        self._task, self._cancelling = weakref.ref(task), task.cancelling()

    def arm(self) -> None:
        """About to wait for the provider: the deadline's error if it already passed."""
        if self.fired:
            raise self._expired()
        self.waiting = True

    def cancelled(self) -> None:
        """In ``except CancelledError`` after ``arm``: the deadline's error when the
        cancellation was the watchdog's alone (the caller re-raises otherwise)."""
        if self.owed:
            self.owed = False
            task = self._task()
            if task is not None and task.uncancel() <= self._cancelling:
                raise self._expired() from None

    def rest(self) -> None:
        """Done waiting; a cancellation of ours that the provider swallowed is taken back."""
        self.waiting = False
        if self.owed:
            self.owed = False
            task = self._task()
            if task is not None:
                task.uncancel()

    async def run(self, awaitable: Awaitable[_T]) -> _T:
        """``awaitable`` under the deadline."""
        if self.fired and hasattr(awaitable, "close"):
            awaitable.close()  # never started: no "never awaited" warning
        self.arm()
        try:
            return await awaitable
        except asyncio.CancelledError:
            self.cancelled()
            raise
        finally:
            self.rest()

    def close(self) -> None:
        """The call is over: the watchdog never fires."""
        self._timers._dogs.pop(self, None)  # Deadlines.discard, inline
