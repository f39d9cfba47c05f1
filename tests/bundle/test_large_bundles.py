"""Large bundles (model weights): refused for every damage a small one is refused for."""

from __future__ import annotations

import os

import pytest

from pepperpy.core import BundleInvalidError, RevokedError
from pepperpy.testing_bundles import BundleFactory, replace_entry
from pepperpy.trust.gate import verify_bundle

CHUNK = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def large() -> tuple[BundleFactory, bytes, bytes]:
    factory = BundleFactory()
    weights = os.urandom(4 * 1024 * 1024 + 3 * CHUNK // 2)
    files = factory.files(extra={"model/weights.bin": weights,
                                 "model/notes.txt": os.urandom(CHUNK).hex().encode()})
    return factory, factory.build(files), weights


def test_large_bundle_verifies(large):
    factory, data, weights = large
    verified = verify_bundle(data, factory.snapshot())
    assert verified.entries["model/weights.bin"] == weights


def _signed_with_bad_crc(factory: BundleFactory, data: bytes, name: str) -> bytes:
    """Genuinely signed by the trusted key, but ``name``'s CRC-32 is off by one bit."""
    from pepperpy.testing_bundles import sign_raw, unpack

    entries = unpack(data)[:-1]
    for entry in entries:
        if entry.name == name.encode():
            entry.crc ^= 1
    return sign_raw([], factory.key, entries=entries)


def test_large_bundle_crc_mismatch_is_refused(large):
    factory, data, _ = large
    bad = _signed_with_bad_crc(factory, data, "model/weights.bin")
    with pytest.raises(BundleInvalidError, match="CRC-32 mismatch"):
        verify_bundle(bad, factory.snapshot())


def test_large_bundle_modified_content_is_refused(large):
    factory, data, weights = large
    changed = bytearray(weights)
    changed[CHUNK + 1] ^= 1
    bad = replace_entry(data, "model/weights.bin", bytes(changed))  # CRC fixed up
    with pytest.raises(BundleInvalidError, match="does not match the files"):
        verify_bundle(bad, factory.snapshot())


def test_large_bundle_revoked_digest_is_refused(large):
    import hashlib

    factory, data, _ = large
    snapshot = factory.snapshot(revoked_bundles=frozenset({hashlib.sha256(data).hexdigest()}))
    with pytest.raises(RevokedError):
        verify_bundle(data, snapshot)


def test_large_bundle_deflated_entry_crc_mismatch_is_refused(large):
    from pepperpy.testing_bundles import unpack

    factory, data, _ = large
    entry = next(e for e in unpack(data) if e.name == b"model/notes.txt")
    assert entry.method == 8 and entry.size >= CHUNK  # inflated and CRC-checked
    bad = _signed_with_bad_crc(factory, data, "model/notes.txt")
    with pytest.raises(BundleInvalidError, match="CRC-32 mismatch"):
        verify_bundle(bad, factory.snapshot())
