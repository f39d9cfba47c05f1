"""A bundle arriving from an index, written straight into the plugin folder unnamed.

``plugin install NAME`` receives the bundle into a file in ``plugins_dir`` that has no
name (``O_TMPFILE``, mode 0600: no other process can open it, and a crash, a refusal or
a full disk leaves nothing behind), piece by piece from one reused buffer, so 50 MB
never sit in memory whole. Once the last byte is in, the file is fsynced on a second
thread while the gate verifies it (one pass through 1 MiB reads, ``gate.check``); only a
verified file whose SHA-256 is the index's signed one is named, under the install
lock, by :func:`pepperpy.fsio.link_unnamed` (linked under a temporary name, renamed over
the installed bundle, the folder fsynced). The bytes verified are the bytes named:
nobody else can reach the file in between. Where the system has no unnamed files,
:meth:`Incoming.open` says so (``None``) and the caller keeps the bundle in memory.
A plugin folder created for a bundle that is then refused is removed again (if still
empty): a refused install leaves the file system as it found it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from pepperpy.fsio import crash_point, link_unnamed, unnamed_file, write_error
from pepperpy.settings import Settings

__all__ = ["Incoming"]

_PIECE = 1 << 20  # larger writes into new page cache cost far more CPU (fsio._write_all)


class Incoming:
    """An unnamed file in the plugin folder receiving one bundle of ``expected`` bytes,
    to be installed as ``target`` (the name errors give: a full disk, say)."""

    def __init__(self, fd: int, settings: Settings, expected: int, target: Path) -> None:
        self.fd, self.settings, self.expected, self.target = fd, settings, expected, target
        self.size = 0
        self.created: Path | None = None  # the plugin folder, if made for this bundle
        self.named = False
        self._sync: Any = None
        self._sync_error: list[OSError] = []

    @classmethod
    def open(cls, settings: Settings, expected: int, target: Path) -> Incoming | None:
        folder = settings.plugins_dir
        new = not os.path.lexists(folder)
        fd = unnamed_file(folder, root=settings.home)
        if fd is None:
            return None
        incoming = cls(fd, settings, expected, target)
        incoming.created = folder if new else None
        return incoming

    @property
    def path(self) -> Path:
        """A name for the gate to open the file by (this process's descriptor only)."""
        return Path(f"/proc/self/fd/{self.fd}")

    def write(self, piece: memoryview) -> None:
        """Append ``piece`` (the downloader calls this as the bytes arrive)."""
        end = self.size + len(piece)
        half = self.size < self.expected // 2 <= end
        try:
            while piece:
                piece = piece[os.write(self.fd, piece[:_PIECE]):]
        except OSError as exc:  # a full disk: nothing was changed, the file vanishes
            raise write_error(self.target, exc) from exc
        self.size = end
        if half:
            crash_point(f"receive {self.target}")

    def received(self) -> None:
        """Every byte is in: fsync the file on a second thread while it is verified."""
        import threading

        def sync() -> None:
            try:
                os.fsync(self.fd)
            except OSError as exc:  # reported by ``name``
                self._sync_error.append(exc)

        self._sync = threading.Thread(target=sync, name="pepperpy-fsync", daemon=True)
        self._sync.start()

    def digest(self, algorithm: str) -> str:
        """The file's digest with ``algorithm`` (a second pass: refusals and rare
        algorithms only). ``ValueError`` for an algorithm hashlib does not know."""
        import hashlib

        hasher = hashlib.new(algorithm)
        buffer, at = memoryview(bytearray(_PIECE)), 0
        while got := os.preadv(self.fd, [buffer], at):
            hasher.update(buffer[:got])
            at += got
        return hasher.hexdigest()  # type: ignore[no-any-return]

    def name(self, target: Path) -> None:
        """Give the verified file the name ``target`` (caller holds the install lock)."""
        self._joined()  # durable before it has a name
        if self._sync_error:
            raise write_error(target, self._sync_error[0])
        link_unnamed(self.fd, target, root=self.settings.home)
        self.named = True

    def close(self) -> None:
        """Close the file (unnamed, it vanishes); a plugin folder made for it goes too
        if nothing was named in it (``rmdir``: only an empty folder, never a link)."""
        self._joined()
        os.close(self.fd)
        if self.created is not None and not self.named:
            with contextlib.suppress(OSError):  # another install's bundle, or not ours
                os.rmdir(self.created)

    def _joined(self) -> None:
        if self._sync is not None:
            self._sync.join()
            self._sync = None
