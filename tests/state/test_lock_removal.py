"""A lock file its holder removes (``fsio.remove_lock``, so a failed first command or a
``repo`` command leaves no file behind) still excludes: a process that waited on the
removed file locks the new one instead of entering beside its holder."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from pepperpy.fsio import file_lock, remove_lock


def _free(path: Path) -> bool:
    """Whether another open of ``path`` could take the lock now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_waiter_on_a_removed_lock_file_holds_the_new_one(tmp_path: Path) -> None:
    lock = tmp_path / "store" / ".lock"
    entered, leave = threading.Event(), threading.Event()
    seen: list[bool] = []

    def waiter() -> None:
        with file_lock(lock):
            entered.set()
            seen.append(_free(lock))  # a third process must wait for this one
            leave.wait(10)

    with file_lock(lock):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert not entered.wait(0.3)  # it waits for the holder
        remove_lock(lock, folders=[lock.parent])
    assert entered.wait(10)
    leave.set()
    thread.join(10)
    assert seen == [False]
    assert lock.is_file()  # the waiter's own lock file, in its re-created folder
    assert _free(lock)


def test_removing_a_lock_keeps_a_folder_in_use(tmp_path: Path) -> None:
    lock = tmp_path / "store" / ".lock"
    with file_lock(lock):
        (lock.parent / "indexes.json").write_text("{}")
        remove_lock(lock, folders=[lock.parent, tmp_path])
    assert not lock.exists()
    assert (lock.parent / "indexes.json").is_file()
