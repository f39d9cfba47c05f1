"""Two-thread hashing of large bundles: CRC combination is exact, and a large bundle is
refused for every damage the one-thread path refuses."""

from __future__ import annotations

import os
import random
import zlib

import pytest

from pepperpy.bundle import verify as verify_module
from pepperpy.bundle.hashing import CHUNK, ParallelHasher, crc32_combine, digests
from pepperpy.bundle.verify import verify_bundle
from pepperpy.core import BundleInvalidError, RevokedError
from pepperpy_testing.bundles import BundleFactory, replace_entry


@pytest.mark.parametrize("seed", range(6))
def test_crc32_combine_matches_zlib(seed):
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(0, 300_000))
    cut = rng.randrange(0, len(data) + 1)
    a, b = data[:cut], data[cut:]
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(data)


def test_parallel_hasher_gives_the_one_thread_results():
    data = os.urandom(3 * CHUNK + 12345)
    contents = [data[:10], data[5: 2 * CHUNK + 7], b"", data]
    hasher = ParallelHasher(data, 1000)
    for content in contents:
        hasher.add_crc(content)
    (prefix, digest), crcs = hasher.finish()
    assert (prefix, digest) == digests(data, 1000)
    assert crcs == [zlib.crc32(c) for c in contents]


@pytest.fixture(scope="module")
def large() -> tuple[BundleFactory, bytes, bytes]:
    factory = BundleFactory()
    weights = os.urandom(verify_module._PARALLEL_FROM + 3 * CHUNK // 2)
    files = factory.files(extra={"model/weights.bin": weights,
                                 "model/notes.txt": os.urandom(CHUNK).hex().encode()})
    return factory, factory.build(files), weights


def test_large_bundle_verifies_on_two_threads(large):
    factory, data, weights = large
    verified = verify_bundle(data, factory.snapshot())
    assert verified.entries["model/weights.bin"] == weights


def test_large_bundle_crc_mismatch_is_refused(large):
    factory, data, weights = large
    changed = bytearray(weights)
    changed[-1] ^= 1
    bad = replace_entry(data, "model/weights.bin", bytes(changed), fix_crc=False)
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
    from pepperpy_testing.bundles import set_fields, unpack

    factory, data, _ = large
    entry = next(e for e in unpack(data) if e.name == b"model/notes.txt")
    assert entry.method == 8 and entry.size >= CHUNK  # inflated, CRC checked in chunks
    bad = set_fields(data, "model/notes.txt", crc=entry.crc ^ 1)
    with pytest.raises(BundleInvalidError, match="CRC-32 mismatch"):
        verify_bundle(bad, factory.snapshot())
