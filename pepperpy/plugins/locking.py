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
import os
from collections.abc import Iterator
from pathlib import Path

from pepperpy.fsio import atomic_write, file_lock  # the one writer and lock, re-exported

__all__ = ["atomic_write", "file_lock", "read_lock"]


@contextlib.contextmanager
def read_lock(path: Path) -> Iterator[None]:
    """Hold a shared lock on ``path`` while reading state its writers change together.

    Best effort for readers only: if the lock file cannot be opened or created (a
    read-only home, where no install through it can run either), read unlocked.
    """
    fd: int | None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = _create_lock_file(path)
    except OSError:
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _create_lock_file(path: Path) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
