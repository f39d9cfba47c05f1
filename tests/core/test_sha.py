"""``pepperpy._sha.sha256`` is SHA-256 of the same bytes as ``hashlib.sha256``, whichever
way it hashes them, and a plugin load does not load OpenSSL for it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from pepperpy import _sha

SIZES = (0, 1, 55, 56, 63, 64, 65, 4096, _sha.SMALL - 1, _sha.SMALL, _sha.SMALL + 1,
         3 * _sha.SMALL + 17)


def _small_hasher(data: bytes = b"") -> _sha._Small:
    return _sha._Small(data)


@pytest.mark.parametrize("size", SIZES)
def test_digest_matches_hashlib_in_one_piece_and_in_chunks(size: int) -> None:
    data = os.urandom(size)
    want = hashlib.sha256(data)
    whole = _small_hasher(data)
    assert (whole.hexdigest(), whole.digest()) == (want.hexdigest(), want.digest())
    for step in (1000, 1 << 16, 1 << 18):
        if size > 50_000 and step == 1000:
            continue
        h = _small_hasher()
        for at in range(0, size, step):
            h.update(memoryview(data)[at:at + step])
        assert h.hexdigest() == want.hexdigest()
        assert h.hexdigest() == want.hexdigest()  # reading the digest changes nothing


@pytest.mark.parametrize("size", SIZES)
def test_copy_midway_is_independent_as_hashlib_copy_is(size: int) -> None:
    data = os.urandom(size)
    cut = size // 2
    h = _small_hasher(data[:cut])
    prefix = h.copy()
    h.update(data[cut:])
    assert prefix.hexdigest() == hashlib.sha256(data[:cut]).hexdigest()
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    prefix.update(b"x")
    assert prefix.hexdigest() == hashlib.sha256(data[:cut] + b"x").hexdigest()
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()


def test_long_input_goes_to_openssl_and_memory_stays_bounded() -> None:
    h = _small_hasher()
    h.update(b"a" * _sha.SMALL)
    assert h._big is None and h._held is not None and len(h._held) == _sha.SMALL
    h.update(b"b")
    assert h._held is None and h._big is not None and h._big.name == "sha256"


def test_str_is_refused_as_hashlib_refuses_it() -> None:
    with pytest.raises(TypeError):
        _small_hasher().update("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hashlib.sha256().update("text")  # type: ignore[arg-type]


def test_uses_hashlib_once_openssl_is_loaded() -> None:
    assert "_hashlib" in sys.modules  # this test process imported hashlib above
    assert type(_sha.sha256(b"x")) is type(hashlib.sha256(b"x"))


def test_the_kernel_hashes_without_loading_openssl_in_a_fresh_process() -> None:
    code = ("import sys\nfrom pepperpy.trust import authentic\n"
            "from pepperpy.bundle import trust\nfrom pepperpy.plugins import depcache\n"
            "key = authentic.key_id_of(bytes(32))\n"
            "assert '_hashlib' not in sys.modules, 'OpenSSL loaded'\n"
            "print(key)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hashlib.sha256(bytes(32)).hexdigest()
