"""Run PepperPy's async core from synchronous code.

Each ``PepperPy`` that is used synchronously gets one private event loop on a daemon
thread. Every sync call runs there, so provider clients created on that loop stay
on it, and a sync call works even when the caller already has a running loop (a
notebook, a framework callback): it never calls ``asyncio.run`` inside one.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from pepperpy.core import ConfigurationError

T = TypeVar("T")

__all__ = ["SyncRunner"]


class SyncRunner:
    """A private event loop on a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="pepperpy-sync", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                # A PepperPy dropped without close_sync() must not leave its thread behind.
                weakref.finalize(self, _stop, loop, thread)
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop and wait for its result."""
        loop = self._ensure()
        if self._thread is threading.current_thread():
            coro.close()
            raise ConfigurationError(
                "a PepperPy *_sync method was called from code PepperPy itself is running "
                "(a tool function or provider): it would wait for itself forever; make that "
                "function async and await the async method instead"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            _stop(loop, thread)


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if loop.is_closed():
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()
