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

from pepperpy.fsio import atomic_write, file_lock  # the one writer and lock, re-exported
from pepperpy.plugins.state import (  # the readers' side, beside the state they read
    InstallStarted,
    read_again_if_installed,
    read_lock,
)

__all__ = ["InstallStarted", "atomic_write", "file_lock", "read_again_if_installed", "read_lock"]
