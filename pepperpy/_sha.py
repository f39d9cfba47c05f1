"""SHA-256 without loading OpenSSL for the few kilobytes a plugin load hashes.

``import hashlib`` loads OpenSSL's ``_hashlib`` (about 2 ms of CPU, more than the rest of
a small plugin's load checks), although a bundle is a few kilobytes. ``sha256()`` returns
``hashlib.sha256`` once OpenSSL is loaded anyway (an SDK, ``ssl``); before that, a hasher
that hashes with the standard library's built-in SHA-256 (``_sha256``, ``_sha2`` from
3.12) and keeps up to ``SMALL`` bytes, to hand them to ``hashlib`` as soon as more arrive
(long inputs hash at OpenSSL's speed, memory stays bounded). Either way the
digest is SHA-256 of the same bytes (``tests/core/test_sha.py``).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["SMALL", "sha256"]

SMALL = 1 << 18  # past this, OpenSSL's speed pays for loading it

try:
    from _sha256 import sha256 as _builtin  # Python 3.11
except ImportError:  # pragma: no cover - Python 3.12+
    try:
        from _sha2 import sha256 as _builtin
    except ImportError:
        _builtin = None


class _Small:
    """A SHA-256 hasher on the built-in code that also holds its input until it outgrows
    ``SMALL`` (then OpenSSL's hasher takes it over from the held bytes)."""

    __slots__ = ("_big", "_held", "_small")
    name, digest_size, block_size = "sha256", 32, 64

    def __init__(self, data: Any = b"") -> None:
        self._small: Any = _builtin()
        self._held: bytearray | None = bytearray()
        self._big: Any = None
        if data:
            self.update(data)

    def update(self, data: Any) -> None:
        if self._big is not None:
            self._big.update(data)
            return
        assert self._held is not None
        self._small.update(data)
        self._held += data
        if len(self._held) > SMALL:
            import hashlib

            self._big, self._held, self._small = hashlib.sha256(self._held), None, None

    def copy(self) -> _Small:
        other = _Small()
        if self._big is not None:
            other._big, other._held, other._small = self._big.copy(), None, None
        else:
            other._small, other._held = self._small.copy(), bytearray(self._held or b"")
        return other

    def _hasher(self) -> Any:
        return self._big if self._big is not None else self._small

    def digest(self) -> bytes:
        return bytes(self._hasher().digest())

    def hexdigest(self) -> str:
        return str(self._hasher().hexdigest())


def sha256(data: Any = b"") -> Any:
    """A SHA-256 hasher (``hashlib.sha256``'s interface: update, copy, digest,
    hexdigest) that loads OpenSSL only when it is loaded already or the input is long."""
    if _builtin is None or "_hashlib" in sys.modules:
        import hashlib

        return hashlib.sha256(data)
    return _Small(data)
