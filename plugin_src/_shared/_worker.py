"""One dedicated thread for an embedded store's synchronous calls (chroma, milvus).

``asyncio.to_thread`` costs about 100 µs a call on two busy cores (context copy,
executor bookkeeping, a concurrent future chained to an asyncio one); a query on a
small collection takes 1-3 ms, so that hop alone cost several percent. Here a call is
one queue put and one ``call_soon_threadsafe``: about half the cost. Calls run one at
a time, in order, on the same thread that opened the client; the event loop never
blocks on the store.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Worker"]

_STOP = None


class Worker:
    """A thread that runs submitted functions in order and hands results to the loop."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` on the worker thread; its exception is raised here."""
        if not self._thread.is_alive():
            raise RuntimeError(f"the {self._thread.name} worker thread has stopped")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args, kwargs))
        return await future

    def stop(self) -> None:
        """Let the thread finish the calls already submitted, then end."""
        self._jobs.put(_STOP)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            loop, future, fn, args, kwargs = job
            try:
                outcome = (_set_result, fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller, raised there
                outcome = (_set_exception, exc)
            try:
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])
            except RuntimeError:  # the loop closed: nobody is waiting any more
                pass


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
