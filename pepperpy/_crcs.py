"""Running CRC-32s, computed on a second thread while the caller hashes the same bytes.

A bundle's one pass (``trust.authentic.scan``) needs the SHA-256 of every byte and the
CRC-32 of every stored entry; both release the GIL on large buffers, so on two cores the
CRC of a slice runs beside the hashing of that slice instead of after it (a 500 MB
``plugin verify`` then costs about one hash pass). The caller decides which bytes go to
which entry and when the results are read; this only moves the arithmetic. Inputs below
``FROM`` bytes (every plugin's code, a 1 MB bundle: starting a thread would cost more than
their CRC) are computed on the caller's thread, and ``threading`` is imported only when a
large one comes; with one core, nothing moves.
A leaf module: it imports nothing from PepperPy (the trust kernel calls it).
"""

from __future__ import annotations

import os
import zlib
from typing import Any

__all__ = ["AWAY", "FROM", "Crcs"]

AWAY = 1 << 16  # slices from this size go to the worker; smaller ones are computed here
FROM = 1 << 24  # inputs from this size use the worker (16 MiB: about 3 ms of CRC-32)

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
_work: list[Any] = []  # the worker's queue, once started (one worker per process)


class _Slice:
    """One slice's CRC to compute: by whoever claims it first, the worker or, when the
    worker has not reached it by the time the result is wanted (another program holds
    the second core), the caller. ``done`` is released once the worker has computed it."""

    __slots__ = ("claim", "done", "index", "values", "view")

    def __init__(self, values: list[int], index: int, view: Any) -> None:
        from _thread import allocate_lock

        self.values, self.index, self.view = values, index, view
        self.claim, self.done = allocate_lock(), allocate_lock()
        self.done.acquire()

    def compute(self) -> None:
        try:
            self.values[self.index] = zlib.crc32(self.view, self.values[self.index])
        except BaseException:  # -1 is never a CRC-32: the entry is refused
            self.values[self.index] = -1


def _run(work: Any) -> None:
    """The worker: computes each slice it claims, then says so."""
    while True:
        piece = work.get()
        if piece.claim.acquire(False):  # else the caller took it and computed it already
            piece.compute()
            piece.done.release()


def _queue() -> Any:
    """The worker's queue, starting the worker on first use (and again in a forked child,
    which has no threads but the one that forked)."""
    if not _work:
        import threading
        from _queue import SimpleQueue

        _work.append(SimpleQueue())
        threading.Thread(target=_run, args=(_work[0],), daemon=True,
                         name="pepperpy-crc32").start()
    return _work[0]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_work.clear)


class Crcs:
    """``count`` running CRC-32s (all starting at 0). ``add`` may run later on the worker,
    so the bytes it is given must stay unchanged until the next :meth:`settled`. At most
    one slice per CRC is in flight, so each CRC continues over its slices in order."""

    __slots__ = ("pending", "threaded", "values")

    def __init__(self, count: int, size: int) -> None:
        self.values = [0] * count
        self.threaded = size >= FROM and _CORES > 1  # ``size``: all the bytes to add
        self.pending: list[_Slice] = []

    def add(self, index: int, view: Any) -> None:
        """Continue CRC ``index`` over ``view``."""
        if any(piece.index == index for piece in self.pending):
            self.settled()  # that CRC's previous slice first
        if self.threaded and len(view) >= AWAY:
            self.pending.append(piece := _Slice(self.values, index, view))
            _queue().put(piece)
        else:
            self.values[index] = zlib.crc32(view, self.values[index])

    def settled(self) -> list[int]:
        """The CRCs once every ``add`` so far is done (the bytes may then change)."""
        for piece in self.pending:
            if piece.claim.acquire(False):  # the worker has not started it: compute it here
                piece.compute()
            else:
                piece.done.acquire()  # released by the worker when it is computed
        self.pending.clear()
        return self.values
