"""``gate.check`` (``pepperpy plugin verify``, discovery) reads a bundle once in 1 MiB
chunks, hashing each as it arrives and keeping only what the later checks read; the
bytes it judges are the bytes it hashed.

- a file naming a trusted key with a wrong signature costs one bounded-memory pass;
- a file changed while it is read (shorter, longer, another end record, another signed
  byte) is refused, by the streaming and by the in-memory path alike;
- ``VerifiedBundle.digest`` and ``Verified.digest`` are the SHA-256 of the whole file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import BundleInvalidError
from pepperpy.trust import gate
from pepperpy.trust.authentic import encode_signature_entry
from pepperpy.trust.gate import Trust, authenticate, check
from pepperpy_testing.bundles import BundleFactory, make_entry, pack

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


def _bad_signature(factory: BundleFactory, size: int) -> bytes:
    """A plugin with a ``size``-byte stored file whose signature entry names the trusted
    key with a signature nobody made."""
    files = factory.files(extra={"model/weights.bin": bytes(size)})
    entries = [make_entry(name, content) for name, content in sorted(files.items())]
    sig = encode_signature_entry(key_id=factory.key.key_id, signature=bytes(64))
    return pack([*entries, make_entry(".pepperpy-signature", sig)])


def _trust(factory: BundleFactory, tmp_path: Path, **snapshot: Any) -> Trust:
    return Trust(factory.snapshot(**snapshot), "t", VerifiedCache(tmp_path / "verified.json"))


def test_a_bad_signature_naming_a_trusted_key_costs_one_bounded_pass(tmp_path: Path):
    factory = BundleFactory()
    path = tmp_path / "forged.pepperplugin"
    path.write_bytes(_bad_signature(factory, 64 * MiB))
    trust = _trust(factory, tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(BundleInvalidError, match="modified after signing"):
            check(path, trust)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"check allocated {peak} bytes for a 64 MiB file"


VERIFY = ("import sys\nfrom pepperpy.cli import main\ncode = main(['plugin', 'verify', "
          "sys.argv[1]])\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
          "\nsys.exit(0 if code == 1 else 3)\n")


def test_plugin_verify_of_a_150_mb_forgery_stays_in_bounded_memory(tmp_path: Path):
    """The command in a fresh process: refused (exit 1), peak RSS far below the file."""
    factory = BundleFactory()
    home = tmp_path / "home"
    factory.trust(home)
    path = tmp_path / "forged.pepperplugin"
    path.write_bytes(_bad_signature(factory, 150 * MiB))
    env = dict(os.environ, PEPPERPY_HOME=str(home), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", VERIFY, str(path)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "modified after signing" in out.stderr
    assert int(out.stdout.split()[-1]) < 80 * 1024, f"peak RSS {out.stdout.split()[-1]} KiB"


def _good(factory: BundleFactory) -> bytes:
    return factory.build(factory.files(extra={"model/weights.bin": os.urandom(64 * 1024),
                                              "notes.txt": b"deflated text " * 2000}))


CHANGES: dict[str, Callable[[Path, int], None]] = {
    "shorter": lambda p, n: os.truncate(p, n - 1),
    "longer": lambda p, n: p.open("ab").write(b"x"),
    "other-end-record": lambda p, n: _flip(p, n - 22 + 4),
    "other-signed-byte": lambda p, n: _flip(p, n // 2),
}


def _flip(path: Path, offset: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 1]))


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_file_changed_while_it_is_streamed_is_refused(change: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    """After the first 4 KiB chunk the file changes under the reader: refused."""
    factory = BundleFactory()
    data = _good(factory)
    path = tmp_path / "b.pepperplugin"
    path.write_bytes(data)
    real = gate._chunks

    def chunks(handle: Any, size: int) -> Iterator[tuple[int, memoryview]]:
        parts = real(handle, size)
        yield next(parts)
        CHANGES[change](path, len(data))
        yield from parts

    monkeypatch.setattr(gate, "_CHUNK", 4096)
    monkeypatch.setattr(gate, "_chunks", chunks)
    with pytest.raises(BundleInvalidError):
        check(path, _trust(factory, tmp_path))


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_file_changed_after_the_screen_is_refused_when_kept_in_memory(
        change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The same changes between the screen's reads and the whole-file read."""
    factory = BundleFactory()
    data = _good(factory)
    path = tmp_path / "b.pepperplugin"
    path.write_bytes(data)
    real = gate._read_all

    def read_all(handle: Any, size: int) -> bytes:
        CHANGES[change](path, len(data))
        return real(handle, size)

    monkeypatch.setattr(gate, "_read_all", read_all)
    with pytest.raises(BundleInvalidError):
        authenticate(path, _trust(factory, tmp_path))


def test_both_paths_give_the_whole_file_digest_and_the_same_manifest(tmp_path: Path):
    factory = BundleFactory()
    data = _good(factory)
    path = tmp_path / "b.pepperplugin"
    path.write_bytes(data)
    streamed = check(path, _trust(factory, tmp_path / "a"))
    kept = authenticate(path, _trust(factory, tmp_path / "b"))
    assert streamed.digest == kept.digest == hashlib.sha256(data).hexdigest()
    assert streamed.manifest == kept.manifest and kept.data == data
    assert kept.entries["notes.txt"] == b"deflated text " * 2000
