"""The end record is outside the signed bytes: the bytes the gate verifies must still
hold exactly the canonical one, even when the file changes between the gate's two reads
(the screen reads the tail, then the whole file). Otherwise a revoked bundle's bytes with
another end record have another digest, and the digest revocation does not see them."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from pepperpy.bundle.trust import TrustStore, read_trust
from pepperpy.core import BundleInvalidError, PepperpyError
from pepperpy.settings import Settings
from pepperpy.testing_bundles import BundleFactory
from pepperpy.trust import archive as zf
from pepperpy.trust.gate import authenticate, verify_bundle


def _other_end_record(good: bytes, field_offset: int) -> bytes:
    """``good`` with one byte of its end record changed (the signed prefix untouched)."""
    tail = bytearray(good[-zf.END_SIZE:])
    tail[field_offset] ^= 1
    return good[:-zf.END_SIZE] + bytes(tail)


@pytest.mark.parametrize("field_offset", [4, 6, 8, 20], ids=["disk", "cd-disk", "count",
                                                             "comment-length"])
def test_bytes_with_another_end_record_than_the_screened_directory_are_refused(field_offset):
    """The gate hands ``verify_bundle`` the directory its screen parsed from the first
    read; the second read's end record must be checked against it."""
    factory = BundleFactory()
    good = factory.build()
    screened = tuple(zf.parse_archive(good))
    changed = _other_end_record(good, field_offset)
    snapshot = factory.snapshot(revoked_bundles=frozenset({hashlib.sha256(good).hexdigest()}))
    with pytest.raises(BundleInvalidError, match="end record does not match"):
        verify_bundle(changed, snapshot, entries=screened)
    with pytest.raises(BundleInvalidError):
        verify_bundle(changed, snapshot)  # the whole-file path refuses it as well


def test_a_revoked_bundle_flipping_its_end_record_never_authenticates(tmp_path: Path):
    """A revoked bundle in a folder PepperPy reads, whose end record another process keeps
    flipping between two values: whichever moment the gate reads it at, it is refused
    (before the fix one read in a few hundred verified under a new, unrevoked digest)."""
    factory = BundleFactory()
    factory.trust(tmp_path)
    good = factory.build()
    TrustStore(tmp_path / "trust.json").revoke_bundle(hashlib.sha256(good).hexdigest())
    path = tmp_path / "revoked.pepperplugin"
    path.write_bytes(good)
    flipped = _other_end_record(good, 4)[-zf.END_SIZE:]
    stop = threading.Event()

    def flip() -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            while not stop.is_set():
                os.pwrite(fd, flipped, len(good) - zf.END_SIZE)
                os.pwrite(fd, good[-zf.END_SIZE:], len(good) - zf.END_SIZE)
        finally:
            os.close(fd)

    flipper = threading.Thread(target=flip)
    flipper.start()
    accepted = []
    try:
        trust = read_trust(Settings(home=tmp_path))
        deadline = time.monotonic() + 1.0
        tries = 0
        while time.monotonic() < deadline and tries < 1500:
            tries += 1
            try:
                accepted.append(authenticate(path, trust).digest)
                break
            except PepperpyError:
                continue
    finally:
        stop.set()
        flipper.join()
    assert accepted == [], f"verified after {tries} reads under digest {accepted}"


def test_every_byte_outside_the_signed_prefix_is_pinned():
    """Every byte after the signed prefix (the signature entry's local header and content,
    the central directory, the end record) is determined by the prefix and the signature:
    changing any one of them is refused, by a whole-file verification and by the gate's
    path that reuses the directory its screen parsed from an earlier read."""
    factory = BundleFactory()
    good = factory.build()
    screened = tuple(zf.parse_archive(good))
    snapshot = factory.snapshot()
    prefix_end = screened[-1].header_offset
    accepted = []
    for offset in range(prefix_end, len(good)):
        for delta in (0x01, 0x80, 0xFF):
            changed = bytearray(good)
            changed[offset] ^= delta
            for entries in (None, screened):
                try:
                    verify_bundle(bytes(changed), snapshot, entries=entries)
                except PepperpyError:
                    continue
                accepted.append((offset, delta, entries is not None))
    assert accepted == []
