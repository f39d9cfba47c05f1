"""A bundle's stored entries are CRC-checked on a second thread while the one pass
hashes them (``pepperpy._crcs``); the result is the same as computing it in line.

- ``Crcs`` gives exactly ``zlib.crc32`` of each entry's slices, in the order added, for
  any mix of large (worker) and small (in line) slices, and when the worker never gets
  to them (the caller computes them);
- a genuinely signed bundle with a large stored entry whose CRC-32 is wrong is refused
  by every form (streamed, kept, in memory), and a good one with large stored entries
  across chunk boundaries is accepted by every form.
"""

from __future__ import annotations

import hashlib
import os
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pepperpy import _crcs
from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import BundleInvalidError
from pepperpy.trust import authentic
from pepperpy.trust.gate import Trust, authenticate, check, verify_bundle
from pepperpy_testing.bundles import BundleFactory, make_entry, sign_raw, unpack

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is used with two cores or more, for 16 MiB or more; these tests run it on
    any machine, for a few MiB."""
    monkeypatch.setattr(_crcs, "_CORES", 2)
    monkeypatch.setattr(_crcs, "FROM", 2 * _crcs.AWAY)


def test_crcs_match_zlib_for_any_mix_of_slices() -> None:
    rng = random.Random(7)
    streams = [bytearray() for _ in range(5)]
    crcs = _crcs.Crcs(len(streams), 64 * MiB)
    assert crcs.threaded
    for _ in range(300):
        i = rng.randrange(len(streams))
        piece = rng.randbytes(rng.choice((1, 100, _crcs.AWAY - 1, _crcs.AWAY, 3 * _crcs.AWAY)))
        streams[i] += piece
        crcs.add(i, memoryview(piece))
        if rng.random() < 0.3:
            crcs.settled()
    assert crcs.settled() == [zlib.crc32(s) for s in streams]


def test_slices_the_worker_has_not_reached_are_computed_by_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the second core busy elsewhere the worker may not get to a slice before its
    CRC is wanted: the caller computes it then (here no worker ever runs)."""
    from _queue import SimpleQueue

    unread: SimpleQueue[Any] = SimpleQueue()
    monkeypatch.setattr(_crcs, "_queue", lambda: unread)
    data = os.urandom(5 * _crcs.AWAY)
    crcs = _crcs.Crcs(2, 64 * MiB)
    for at in range(0, len(data), _crcs.AWAY):
        crcs.add(0, data[at:at + _crcs.AWAY])
        crcs.add(1, data[at:at + _crcs.AWAY])
    assert crcs.settled() == [zlib.crc32(data)] * 2
    assert unread.qsize() == 10  # every slice was handed over, and computed here


def test_the_caller_waits_for_a_slice_the_worker_is_computing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A slice the worker has claimed is waited for, however long it takes."""
    import threading
    import time
    from _queue import SimpleQueue

    work: SimpleQueue[Any] = SimpleQueue()
    claimed = threading.Event()

    def slow_worker() -> None:
        piece = work.get()
        assert piece.claim.acquire(False)
        claimed.set()
        time.sleep(0.05)
        piece.compute()
        piece.done.release()

    monkeypatch.setattr(_crcs, "_queue", lambda: work)
    worker = threading.Thread(target=slow_worker)
    worker.start()
    data = os.urandom(2 * _crcs.AWAY)
    crcs = _crcs.Crcs(1, 64 * MiB)
    crcs.add(0, data)
    assert claimed.wait(10)
    assert crcs.settled() == [zlib.crc32(data)]
    worker.join()


def test_a_small_input_or_one_core_is_computed_in_line(monkeypatch: pytest.MonkeyPatch) -> None:
    crcs = _crcs.Crcs(1, _crcs.AWAY)
    crcs.add(0, b"x" * _crcs.AWAY)
    assert not crcs.pending and crcs.values == [zlib.crc32(b"x" * _crcs.AWAY)]
    monkeypatch.setattr(_crcs, "_CORES", 1)
    crcs = _crcs.Crcs(1, 64 * MiB)
    crcs.add(0, b"x" * 4 * _crcs.AWAY)
    assert not crcs.pending and crcs.values == [zlib.crc32(b"x" * 4 * _crcs.AWAY)]


def _trust(factory: BundleFactory, tmp_path: Path) -> Trust:
    return Trust(factory.snapshot(), "t", VerifiedCache(tmp_path / "verified.json"))


def _large(factory: BundleFactory, *, stale: bool) -> bytes:
    """Signed; two stored entries of a few MiB that straddle the pass's chunks, the
    second's CRC-32 one bit off when ``stale``."""
    files = factory.files(extra={"model/a.bin": os.urandom(3 * authentic.CHUNK + 5),
                                 "model/b.bin": os.urandom(2 * authentic.CHUNK + 7)})
    entries = [make_entry(name, content) for name, content in sorted(files.items())]
    if stale:
        next(e for e in entries if e.name == b"model/b.bin").crc ^= 1
    return sign_raw([], factory.key, entries=entries)


@pytest.mark.parametrize("stale", [False, True])
def test_large_stored_entries_are_crc_checked_by_every_form(stale: bool, tmp_path: Path):
    factory = BundleFactory()
    data = _large(factory, stale=stale)
    assert _crcs.Crcs(1, len(data)).threaded
    assert [e.method for e in unpack(data) if e.name.startswith(b"model/")] == [0, 0]
    path = tmp_path / "big.pepperplugin"
    path.write_bytes(data)
    forms: dict[str, Callable[[], Any]] = {
        "streamed": lambda: check(path, _trust(factory, tmp_path / "s")),
        "kept": lambda: authenticate(path, _trust(factory, tmp_path / "k")),
        "in memory": lambda: verify_bundle(data, factory.snapshot())}
    for form, run in forms.items():
        if stale:
            with pytest.raises(BundleInvalidError, match="CRC-32"):
                run()
        else:
            assert run().digest == hashlib.sha256(data).hexdigest(), form
