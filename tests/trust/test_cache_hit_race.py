"""A verified-cache hit must judge the directory it uses against the bytes it hashed.

The gate reads the central directory in its screen and the whole file afterwards. A file
rewritten in between (a shared folder, a mirror) can show the screen a forged directory
over a genuine, already-verified bundle: the digest of the bytes then hits the cache, and
the forged directory would map a signed module's name onto other signed bytes (here a
data file whose text is Python), so code that was never signed as code would run.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import BundleInvalidError
from pepperpy.trust import gate
from pepperpy.trust.gate import Trust, authenticate, check
from pepperpy_testing.bundles import BundleFactory, pack, unpack

_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
DATA = b"class SampleProvider:\n    hijacked = True\n"


def _forged_directory(genuine: bytes) -> bytes:
    """``genuine`` with its central directory rewritten: ``sample.py`` names the bytes of
    the data file ``q/abc.txt`` (same name length, so every offset still chains) and
    ``t/abc.txt`` names the real module's bytes. Same size, same signed prefix."""
    entries = unpack(genuine)
    names = [e.name for e in entries]
    assert names == [b"plugin.json", b"q/abc.txt", b"sample.py", b".pepperpy-signature"]
    entries[1].name, entries[2].name = b"sample.py", b"t/abc.txt"
    forged = pack(entries)
    cd_offset = struct.unpack_from("<I", forged, len(forged) - 6)[0]
    out = genuine[:cd_offset] + forged[cd_offset:]
    assert len(out) == len(genuine) and out != genuine
    return out


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Trust, bytes]:
    factory = BundleFactory()
    genuine = factory.build(factory.files(extra={"q/abc.txt": DATA}))
    path = tmp_path / "b.pepperplugin"
    path.write_bytes(genuine)
    trust = Trust(factory.snapshot(), "t", VerifiedCache(tmp_path / "verified.json"))
    first = authenticate(path, trust)  # the genuine file, verified: the cache holds it
    assert first.entries["sample.py"] != DATA
    path.write_bytes(_forged_directory(genuine))
    return path, trust, genuine


def test_a_directory_swapped_between_screen_and_read_is_refused_on_a_cache_hit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path, trust, genuine = _setup(tmp_path, monkeypatch)
    real = gate._read_all

    def read_all(handle: Any, size: int) -> bytes:
        path.write_bytes(genuine)  # rewritten in place after the screen read the forgery
        return real(handle, size)

    monkeypatch.setattr(gate, "_read_all", read_all)
    with pytest.raises(BundleInvalidError, match="central directory"):
        authenticate(path, trust)


def test_a_directory_swapped_between_screen_and_stream_is_refused_on_a_cache_hit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path, trust, genuine = _setup(tmp_path, monkeypatch)
    real = gate._chunks

    def chunks(handle: Any, size: int) -> Any:
        path.write_bytes(genuine)
        return real(handle, size)

    monkeypatch.setattr(gate, "_chunks", chunks)
    with pytest.raises(BundleInvalidError, match="central directory"):
        check(path, trust)
