"""One dedicated thread for an embedded store's synchronous calls (chroma, milvus).

``asyncio.to_thread`` costs about 100 µs a call on two busy cores (context copy,
executor bookkeeping, a concurrent future chained to an asyncio one); a query on a
small collection takes 1-3 ms, so that hop alone cost several percent. Here a call is
one queue put there and one pipe write back. Calls run one at a time, in order; the
event loop never waits for the worker.

A call known to be short can instead run where its caller is (``here``): the hop there
and back costs 60-100 µs of two thread wake-ups, 5-10% of a 1-2 ms query on a small
collection. It runs only while nothing submitted is unfinished, so it never overtakes a
call on its way from the same loop, and under the lock that the worker holds for each
call, so it never runs beside one submitted from another thread.

The way back: the first loop that calls gets an inbox, a pipe whose read end that loop
watches (``add_reader``). The worker appends each outcome to the inbox and writes one
byte; the loop reads and settles the futures. ``call_soon_threadsafe`` does the same
through asyncio's own pipe, but it builds a handle on the worker and its reader ends
every wake-up in a raised ``BlockingIOError``; after a query has left the loop's caches
cold that path costs 15-40 µs more. Any other loop, or one without ``add_reader``
(Windows' proactor), gets ``call_soon_threadsafe``. Only the worker thread writes to the
pipe, under a lock that ``stop`` takes to close it, so no byte ever reaches a closed or
reused descriptor. A process forked after the worker started has no worker thread (and
the store's client does not survive a fork): a call there is refused at once instead of
waiting forever, and the child never closes or writes to the parent's descriptors (the
inbox pipe, the loop's self-pipe): by the time its copy of the worker is stopped or
collected, or its exit runs the finalizers, those numbers may name the child's own files.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from pepperpy.core import ConfigurationError

__all__ = ["BUSY", "Worker"]

_STOP = None
BUSY = object()  # what ``Worker.here`` returns when the call must be submitted instead
_forks = [0]  # bumped in a forked child: a worker made before the fork has no thread there
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class Worker:
    """A thread that runs submitted functions in order and hands results to the loop."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _inbox and its write end
        self._inbox: _Inbox | None = None
        self._inboxes = True  # False once a loop turned out to have no add_reader
        self._stopped = False
        self._fork = _forks[0]
        self._unfinished = 0  # calls submitted and not yet run; changed under _lock
        self._running = threading.Lock()  # held while a call runs, here or on the thread
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` on the worker thread; its exception is raised here."""
        return await self.submit(fn, *args, **kwargs)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """``call`` for a caller on the loop that awaits the future itself (one coroutine
        frame fewer to resume when the answer arrives)."""
        if self._stopped or self._fork != _forks[0]:
            self._refuse()
        loop = asyncio.get_running_loop()
        inbox = self._inbox
        if inbox is None or inbox.loop is not loop:
            self._open_inbox(loop)
        future = loop.create_future()
        with self._lock:
            self._unfinished += 1
        self._jobs.put((loop, future, fn, args, kwargs))
        return future

    def here(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """``fn(*args)`` on the calling thread if no submitted call is unfinished and
        none is running; else ``BUSY`` (submit it instead). Refused like ``submit``."""
        if self._stopped or self._fork != _forks[0]:
            self._refuse()
        if self._unfinished or not self._running.acquire(blocking=False):
            return BUSY
        try:
            return fn(*args)
        finally:
            self._running.release()

    def _refuse(self) -> None:
        name = self._thread.name
        if self._fork != _forks[0]:
            raise ConfigurationError(
                f"the {name} worker thread was started in the parent of this forked "
                "process, and neither it nor the store's client survives a fork; create "
                "and start the PepperPy app in each process after it forks")
        raise RuntimeError(f"the {name} worker thread has stopped")

    def stop(self) -> None:
        """Let the thread finish the calls already submitted, then end; close the inbox.
        Calls submitted after this are refused (they would never run)."""
        self._stopped = True
        if self._fork != _forks[0]:  # a forked child: no thread to stop, and the inbox
            self._inbox = None       # is the parent's (its lock may have been held by the
            return                   # parent's worker thread at the fork: never taken)
        self._jobs.put(_STOP)
        with self._lock:
            inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.close()

    def _open_inbox(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give ``loop`` the inbox, unless a loop still open holds it (that one keeps it)."""
        current = self._inbox
        if (current is not None and not current.loop.is_closed()) or not self._inboxes:
            return
        try:
            inbox = _Inbox(loop)
        except NotImplementedError:  # no add_reader (Windows' proactor loop)
            self._inboxes = False
            return
        with self._lock:
            current, self._inbox = self._inbox, inbox
        if current is not None:
            current.close()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._stopped = True

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            loop, future, fn, args, kwargs = job
            outcome: tuple[Callable[[asyncio.Future[Any], Any], None], Any]
            with self._running:
                try:
                    outcome = (_set_result, fn(*args, **kwargs))
                except BaseException as exc:  # handed to the caller, raised there
                    outcome = (_set_exception, exc)
            job = None  # drop the arguments now, not when the next job arrives
            with self._lock:
                self._unfinished -= 1
                inbox = self._inbox
                if inbox is not None and inbox.loop is loop:
                    inbox.post(future, outcome)
                    continue
            try:
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])
            except RuntimeError:  # the loop closed: nobody is waiting any more
                pass


class _Inbox:
    """Outcomes for one event loop, and the pipe that wakes it when one arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._fork = _forks[0]
        self._read, self._write = os.pipe()
        self._ends: tuple[int, ...] = (self._read, self._write)
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._done: deque[tuple[asyncio.Future[Any], tuple[Any, Any]]] = deque()
        try:
            loop.add_reader(self._read, self._deliver)
        except BaseException:
            self._close_pipe()
            raise

    def post(self, future: asyncio.Future[Any], outcome: tuple[Any, Any]) -> None:
        """Worker thread, under the worker's lock: queue the outcome, wake the loop."""
        self._done.append((future, outcome))
        try:
            os.write(self._write, b"\0")
        except BlockingIOError:  # the pipe is full of unread wake-ups: the loop will run
            pass

    def _deliver(self) -> None:
        """Loop thread: empty the pipe first, then settle every outcome queued so far
        (one posted after this read has its byte written after it: no wake-up is lost)."""
        try:
            os.read(self._read, 4096)
        except BlockingIOError:
            pass
        done = self._done
        while done:
            future, (settle, value) = done.popleft()
            settle(future, value)

    def close(self) -> None:
        """Stop watching and close the pipe, settling what is still queued; called once
        the inbox is detached, so the worker writes to it no more."""
        loop = self.loop
        if not loop.is_closed():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._finish()
                return
            try:
                handle = loop.call_soon_threadsafe(self._finish)
            except RuntimeError:  # closed in the meantime
                pass
            else:
                # A loop closed before it runs the handle drops it unrun (its selector,
                # and the registration with it, goes too): the pipe is closed then.
                weakref.finalize(handle, self._close_pipe)
                return
        self._close_pipe()  # a closed loop's selector is gone; nobody waits any more

    def _finish(self) -> None:
        self.loop.remove_reader(self._read)
        self._deliver()
        self._close_pipe()

    def _close_pipe(self) -> None:
        """Close both ends once (``_finish`` and the dropped handle's finalizer both may),
        and only in the process that opened them: in a forked child (the finalizer runs
        there too, at the latest at exit) the numbers may have been reused."""
        ends, self._ends = self._ends, ()
        if self._fork != _forks[0]:
            return
        for fd in ends:
            os.close(fd)


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
