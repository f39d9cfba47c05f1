"""Hash a bundle on two threads: the same checks as the one-thread path, split up.

The work for a bundle (``docs/bundle-format.md``): SHA-256 of the whole file (the
prefix digest taken in the same pass), SHA-256 of each entry and CRC-32 of each entry.
The two SHA-256 streams are sequential by nature; CRC-32 is not: the CRCs of two
pieces combine exactly into the CRC of both (zlib's ``crc32_combine``, done here in
Python on 32-bit integers), so large contents are cut into chunks that whichever
thread is free takes. hashlib and zlib release the GIL on large buffers, so on two
cores a verify costs about one SHA-256 pass plus half a CRC pass of wall time.

Invariants: this module decides nothing. It returns digests and CRC values; the caller
compares every one of them before anything is trusted. A failure in the helper thread
is re-raised in the caller, and the helper is always joined before returning.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache

__all__ = ["CHUNK", "ParallelHasher", "crc32_combine", "digests"]

#: Contents of at least this many bytes have their CRC-32 cut into chunks this size.
CHUNK = 2 * 1024 * 1024
_POLY = 0xEDB88320  # CRC-32 (ISO-HDLC) polynomial, bit-reflected as zlib uses it


def digests(data: bytes, prefix_end: int) -> tuple[str, str]:
    """SHA-256 of ``data[:prefix_end]`` and of all of ``data``, in one pass."""
    view = memoryview(data)
    hasher = hashlib.sha256(view[:prefix_end])
    prefix = hasher.copy().hexdigest()
    hasher.update(view[prefix_end:])
    return prefix, hasher.hexdigest()


def _multmodp(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC polynomial (reflected bit order, as zlib 1.2.12+)."""
    m = 1 << 31
    p = 0
    while m:
        if a & m:
            p ^= b
            if not a & (m - 1):
                break
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return p


@lru_cache(maxsize=1)
def _x2n_table() -> tuple[int, ...]:
    """x^(2^k) modulo the polynomial, k = 0..31."""
    p = 1 << 30  # x^1
    table = [p]
    for _ in range(31):
        p = _multmodp(p, p)
        table.append(p)
    return tuple(table)


@lru_cache(maxsize=64)
def _shift(length: int) -> int:
    """x^(8 * length) modulo the polynomial: appending ``length`` zero bytes."""
    table = _x2n_table()
    p, n, k = 1 << 31, length, 3  # x^0, and 8 = 2^3 bits per byte
    while n:
        if n & 1:
            p = _multmodp(table[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)``."""
    return _multmodp(_shift(len2), crc1) ^ crc2


class ParallelHasher:
    """A helper thread hashes the whole file, then both threads share the CRC chunks.

    Use: create (the file digest starts at once), ``add_crc`` each large content as
    the caller reaches it (before hashing it, so an idle helper can take its chunks),
    then ``finish`` for the digests and the CRC of each added content, in order.
    ``close`` (idempotent) must run on every path, which ``finish`` does.
    """

    def __init__(self, data: bytes, prefix_end: int) -> None:
        import threading  # only large bundles use a thread

        self._cond = threading.Condition()
        self._jobs: list[tuple[int, int, memoryview]] = []  # (content slot, chunk, bytes)
        self._taken = 0
        self._closed = False
        self._crcs: list[list[int]] = []
        self._sizes: list[list[int]] = []
        self._digests: tuple[str, str] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._helper, args=(data, prefix_end),
                                        name="pepperpy-verify", daemon=True)
        self._thread.start()

    def add_crc(self, content: bytes | memoryview) -> None:
        view = memoryview(content)
        pieces = [view[i: i + CHUNK] for i in range(0, len(view), CHUNK)] or [view]
        with self._cond:
            slot = len(self._crcs)
            self._crcs.append([0] * len(pieces))
            self._sizes.append([len(p) for p in pieces])
            self._jobs.extend((slot, i, p) for i, p in enumerate(pieces))
            self._cond.notify()

    def _take(self, *, wait: bool) -> tuple[int, int, memoryview] | None:
        with self._cond:
            while self._taken >= len(self._jobs):
                if self._closed or not wait:
                    return None
                self._cond.wait()
            job = self._jobs[self._taken]
            self._taken += 1
            return job

    def _work(self, *, wait: bool) -> None:
        while (job := self._take(wait=wait)) is not None:
            slot, index, piece = job
            self._crcs[slot][index] = zlib.crc32(piece)

    def _helper(self, data: bytes, prefix_end: int) -> None:
        try:
            self._digests = digests(data, prefix_end)
            self._work(wait=True)
        except BaseException as exc:  # re-raised by finish() in the calling thread
            self._error = exc

    def close(self) -> None:
        """Stop (chunks nobody took are dropped) and join the helper."""
        with self._cond:
            self._closed = True
            self._taken = len(self._jobs)
            self._cond.notify_all()
        self._thread.join()

    def finish(self) -> tuple[tuple[str, str], list[int]]:
        """Help with the remaining CRC chunks, join; return digests and CRCs in order."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._work(wait=False)
        self.close()
        if self._error is not None:
            raise self._error
        assert self._digests is not None
        crcs = []
        for parts, sizes in zip(self._crcs, self._sizes, strict=True):
            crc = parts[0]
            for part, size in zip(parts[1:], sizes[1:], strict=True):
                crc = crc32_combine(crc, part, size)
            crcs.append(crc)
        return self._digests, crcs
