"""File locks and atomic writes (both from :mod:`pepperpy.fsio`): how plugin state changes.

Invariants:
- A reader never sees a half-written file: every write goes to a temporary file in the
  target's own folder, is flushed and fsynced, then ``os.replace``d over the target, and
  the folder is fsynced so the rename survives a crash.
- Writers of one piece of state serialise on an ``fcntl.flock`` lock file beside it. The
  lock is advisory and per open file description, so it works across processes and is
  released by the kernel if a holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from pepperpy.fsio import atomic_write, file_lock  # the one writer and lock, re-exported

__all__ = ["InstallStarted", "atomic_write", "file_lock", "read_again_if_installed", "read_lock"]

P = ParamSpec("P")
T = TypeVar("T")


@contextlib.contextmanager
def read_lock(path: Path) -> Iterator[None]:
    """Hold a shared lock on ``path`` while reading state its writers change together.

    Creates nothing: a command that only reads leaves a fresh home as it found it. With
    no lock file no install ever held it (writers create it before they write anything),
    so the read runs unlocked; if the file exists when it ends, an install started
    meanwhile and :class:`InstallStarted` asks the caller to read again, now locked
    (:func:`read_again_if_installed`). If the lock file cannot be opened (a read-only
    home, where no install through it can run either), read unlocked.
    """
    fd: int | None = None
    absent = False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        absent = True
    except OSError:
        pass
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        if fd is not None:
            os.close(fd)
        if absent and os.path.lexists(path):
            raise InstallStarted(path)


class InstallStarted(Exception):
    """An install took the lock while a reader ran without it: what it read may mix the
    old state and the new, so it reads again (never reaches a user)."""


def read_again_if_installed(read: Callable[P, T]) -> Callable[P, T]:
    """Run ``read`` (which takes :func:`read_lock` and changes nothing) again whenever
    an install started during an unlocked read; the next run finds the lock file."""

    @functools.wraps(read)
    def again(*args: P.args, **kwargs: P.kwargs) -> T:
        while True:
            try:
                return read(*args, **kwargs)
            except InstallStarted:
                continue

    return again
