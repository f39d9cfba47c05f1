"""The CRC-32 worker against the streamed pass's reused buffer, threads and fork.

``gate.check`` reads a bundle through one reused buffer; ``authentic.scan`` hands large
stored slices of it to the CRC worker (``pepperpy._crcs``). The buffer may be refilled
only once every slice of the chunk in it is computed, whoever computes it; a verdict
must not depend on which thread got there first, on other verifications running at the
same time, or on a fork.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from pepperpy import _crcs
from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import BundleInvalidError
from pepperpy.trust import authentic
from pepperpy.trust.gate import Trust, check
from pepperpy_testing.bundles import BundleFactory, make_entry, sign_raw


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_crcs, "_CORES", 2)
    monkeypatch.setattr(_crcs, "FROM", 2 * _crcs.AWAY)


def _bundle(factory: BundleFactory, tmp_path: Path, name: str, *, stale: bool) -> Path:
    """Signed, with three stored entries of a few chunks each (every chunk boundary
    falls inside one of them); the last one's CRC-32 one bit off when ``stale``."""
    files = factory.files(extra={f"model/{c}.bin": os.urandom(n * authentic.CHUNK + k)
                                 for c, n, k in (("a", 2, 3), ("b", 1, 70_001), ("c", 2, 9))})
    entries = [make_entry(n, content) for n, content in sorted(files.items())]
    if stale:
        next(e for e in entries if e.name == b"model/c.bin").crc ^= 1
    path = tmp_path / f"{name}.pepperplugin"
    path.write_bytes(sign_raw([], factory.key, entries=entries))
    return path


def _trust(factory: BundleFactory, folder: Path) -> Trust:
    return Trust(factory.snapshot(), "t", VerifiedCache(folder / "verified.json"))


def test_a_reused_buffer_is_not_refilled_before_its_slices_are_computed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker runs: every handed-over slice is computed by the pass itself when it
    settles. It must settle before the next read refills the buffer, or it computes the
    CRC of the next chunk's bytes and refuses a genuine bundle."""
    from _queue import SimpleQueue

    unread: SimpleQueue[Any] = SimpleQueue()
    monkeypatch.setattr(_crcs, "_queue", lambda: unread)
    factory = BundleFactory()
    good = _bundle(factory, tmp_path, "good", stale=False)
    assert check(good, _trust(factory, tmp_path / "g")).digest
    assert unread.qsize() >= 5  # slices were handed over (and computed by the pass)
    stale = _bundle(factory, tmp_path, "stale", stale=True)
    with pytest.raises(BundleInvalidError, match="CRC-32"):
        check(stale, _trust(factory, tmp_path / "s"))


def test_verifications_in_many_threads_share_the_worker(tmp_path: Path) -> None:
    factory = BundleFactory()
    paths = {stale: _bundle(factory, tmp_path, f"b{stale}", stale=stale)
             for stale in (False, True)}
    verdicts: list[tuple[bool, str]] = []

    def verify(n: int, stale: bool) -> None:
        try:
            check(paths[stale], _trust(factory, tmp_path / f"t{n}"))
            verdicts.append((stale, "accepted"))
        except BundleInvalidError as exc:
            verdicts.append((stale, "refused" if "CRC-32" in str(exc) else str(exc)))

    threads = [threading.Thread(target=verify, args=(n, n % 2 == 1)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(verdicts) == [(False, "accepted")] * 4 + [(True, "refused")] * 4


def test_a_forked_child_verifies_with_a_worker_of_its_own(tmp_path: Path) -> None:
    """The parent's worker thread does not exist in a child; the child starts its own
    (or computes in line), and gets the same verdicts."""
    factory = BundleFactory()
    good = _bundle(factory, tmp_path, "good", stale=False)
    stale = _bundle(factory, tmp_path, "stale", stale=True)
    check(good, _trust(factory, tmp_path / "p"))  # the parent's worker is running
    assert _crcs._work
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        code = 1
        try:
            ok = bool(check(good, _trust(factory, tmp_path / "c1")).digest)
            try:
                check(stale, _trust(factory, tmp_path / "c2"))
                refused = False
            except BundleInvalidError as exc:
                refused = "CRC-32" in str(exc)
            code = 0 if ok and refused else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    try:
        result = os.read(read, 1)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert result == b"\0"


def test_no_thread_to_be_had_computes_in_line(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A process at its thread limit cannot start the worker: the pass computes every
    CRC itself (the same verdicts, no RuntimeError out of a verification) and leaves no
    queue behind that nobody reads, holding every slice handed to it."""
    monkeypatch.setattr(_crcs, "_work", [])

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    factory = BundleFactory()
    assert check(_bundle(factory, tmp_path, "good", stale=False),
                 _trust(factory, tmp_path / "g")).digest
    with pytest.raises(BundleInvalidError, match="CRC-32"):
        check(_bundle(factory, tmp_path, "stale", stale=True), _trust(factory, tmp_path / "s"))
    assert _crcs._work == []
