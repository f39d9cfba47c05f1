"""Bundle-file I/O: open for reading without ever blocking, and the one atomic writer.

Invariant: every read of a ``*.pepperplugin`` path (discovery's ``read_manifest``,
verification, install) goes through :func:`open_regular`. A FIFO, a device, a socket or a
folder with that name (directly or through a symlink) is refused *before* a byte is read:
the file is opened with ``O_NONBLOCK`` (so opening a FIFO with no writer returns at once)
and checked with ``fstat`` on the descriptor that is then read, so nothing can be swapped
in between the check and the read.

:func:`atomic_write` is re-exported from :mod:`pepperpy.fsio`, the one door for writes.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from pepperpy.core import BundleInvalidError
from pepperpy.fsio import atomic_write  # the one atomic writer, under its old name

__all__ = ["atomic_write", "open_regular"]

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary reader on ``path``; ``BundleInvalidError`` if it is not a regular file.

    ``OSError`` from opening (missing file, no permission) propagates unchanged.
    """
    fd = os.open(path, _FLAGS)  # OSError (missing, no permission) is the caller's to word
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BundleInvalidError(
                f"not a regular file ({_kind(mode)}); a bundle must be a plain file: "
                "delete or rename it", path=str(path),
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a plain file"
