"""A file is hashed and its signature checked over the raw bytes before anything inflates.

Naming a key id costs a few small reads when nobody trusts the key (the screen), and one
hash pass when the key is trusted but the signature is wrong: never inflation, whatever
the entries declare.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from pepperpy.core import BundleInvalidError, UntrustedPublisherError
from pepperpy.testing_bundles import RawEntry, make_entry, pack
from pepperpy.trust.authentic import encode_signature_entry

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def _deflated_zeros(size: int, ratio: int) -> RawEntry:
    """``size`` zero bytes as raw deflate, padded with empty stored blocks so that the
    declared ratio stays at ``ratio`` (under the 200x limit): a bomb the size checks pass."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, crc = bytes(MiB), 0
    parts = []
    for _ in range(size // MiB):
        parts.append(comp.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(comp.flush(zlib.Z_SYNC_FLUSH))
    body, tail = b"".join(parts), comp.flush()
    padding = b"\x00\x00\x00\xff\xff" * ((size // ratio - len(body) - len(tail)) // 5 + 1)
    entry = make_entry("x.bin", b"")
    entry.payload, entry.method, entry.crc, entry.size = body + padding + tail, 8, crc, size
    return entry


def _naming(key_id: str, entries: list[RawEntry], files: dict[str, bytes]) -> bytes:
    """An archive of ``entries`` and ``files`` whose signature entry names ``key_id``
    with a signature nobody made."""
    listed = sorted([*entries, *(make_entry(n, c) for n, c in files.items())],
                    key=lambda e: e.name)
    sig = encode_signature_entry(key_id=key_id, signature=bytes(64))
    return pack([*listed, make_entry(".pepperpy-signature", sig)])


def _bomb_entries() -> list[RawEntry]:
    entries = []
    for name in ("a.bin", "b.bin", "c.bin"):
        entry = _deflated_zeros(96 * MiB, 190)
        entry.name = name.encode()
        entries.append(entry)
    return entries


CHILD = (
    "import time\n"
    "start = time.perf_counter()\n"
    "from pepperpy.plugins.manager import PluginManager\n"
    "assert PluginManager().resolve('llm', 'echo') is not None\n"
    "elapsed = time.perf_counter() - start\n"
    "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
    "print(elapsed, peak)\n"
)


def _load(home: Path) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of one provider load in a fresh process."""
    env = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_AUTO_INSTALL="0",
               PYTHONPATH=str(REPO))
    env.pop("PEPPERPY_DEV", None)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                         text=True, timeout=120, cwd=home)
    assert out.returncode == 0, out.stderr
    seconds, peak = out.stdout.split()
    return float(seconds), int(peak)


def test_a_file_naming_a_trusted_key_costs_one_hash_pass_not_inflation(env, tmp_path):
    """A 1.5 MB file in the plugin folder names the trusted key id but was never signed by
    it; its entries declare 288 MB. Loading the real plugin beside it stays within 50 MB
    of peak memory and 0.2 s of the same load without it (version 1 of the format had to
    inflate every entry to check the signature: +290 MB, +1 s)."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.plugins.install import install_bundle

    pub = env.publisher()
    attack = _naming(pub.key_id, _bomb_entries(), {"plugin.json": b"{}"})
    assert len(attack) < 2 * MiB
    homes = []
    for label in ("clean", "attacked"):
        home = tmp_path / label
        settings = env.with_settings(home=home).settings
        TrustStore(settings.trust_file).add(pub.pub_pem(), publisher=pub.name)
        install_bundle(env.write(tmp_path / "dl", "echo.pepperplugin", env.bundle(pub)),
                       settings=settings)
        homes.append(home)
    env.write(homes[1] / "plugins", "attack.pepperplugin", attack)
    clean = min(_load(homes[0]) for _ in range(2))
    attacked = _load(homes[1])
    print(f"clean {clean}, attacked {attacked}")  # (seconds, peak RSS KiB)
    assert attacked[1] - clean[1] < 50 * 1024, (clean, attacked)
    assert attacked[0] - clean[0] < 0.2, (clean, attacked)


def test_the_screen_refuses_a_key_nobody_trusts_before_reading_the_file(env, tmp_path):
    """A 64 MB file naming a key nobody trusts is refused from its tail alone."""
    from pepperpy.bundle.trust import read_trust
    from pepperpy.trust.gate import authenticate

    stored = make_entry("weights.bin", bytes(64 * MiB))
    path = env.write(tmp_path, "big.pepperplugin",
                     _naming("ab" * 32, [stored], {"plugin.json": b"{}"}))
    del stored
    trust = read_trust(env.settings)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(UntrustedPublisherError, match=str(path)):
            authenticate(path, trust)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"authenticate allocated {peak} bytes"
    assert time.perf_counter() - started < 1


def test_a_wrong_signature_is_refused_before_any_entry_inflates(env, tmp_path):
    """Verification in memory: the bomb entries are never inflated (bounded time and
    memory), the refusal names the signature."""
    from pepperpy.bundle.trust import read_trust
    from pepperpy.trust.gate import authenticate

    pub = env.publisher()
    path = env.write(tmp_path, "bomb.pepperplugin",
                     _naming(pub.key_id, _bomb_entries(), {"plugin.json": b"{}"}))
    tracemalloc.start()
    try:
        with pytest.raises(BundleInvalidError, match="modified after signing"):
            authenticate(path, read_trust(env.settings))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"verification allocated {peak} bytes"
