"""`plugin list` with nothing changed reads no bundle and rewrites no cache; any change
to a file (even one that keeps its size and modification time) or to the trust store
is seen on the next listing."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from pepperpy.bundle.trust import TrustStore
from pepperpy.plugins.doctor import diagnose

_OPENED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def _listing(env, folder: Path) -> list[tuple[str, str]]:
    return [(Path(r.path).name, r.state) for r in
            diagnose(env.with_settings(dev_mode=True, plugin_path=(folder,)).manager())]


def _bundles(env, count: int = 3) -> tuple[object, Path]:
    pub = env.publisher()
    folder = env.tmp / "p"
    for i in range(count):
        env.write(folder, f"echo{i}.pepperplugin", env.bundle(pub, version=f"1.0.{i}"))
    return pub, folder


def test_a_warm_listing_reads_no_bundle_and_writes_no_cache(env):
    _, folder = _bundles(env)
    cold = _listing(env, folder)
    assert [state for _, state in cold] == ["ok", "ok", "ok"]
    cache = env.settings.home / "verified.json"
    before = cache.stat().st_mtime_ns
    _OPENED.clear()
    assert _listing(env, folder) == cold
    assert not [p for p in _OPENED if p.endswith(".pepperplugin")]
    assert cache.stat().st_mtime_ns == before


def test_same_size_and_mtime_with_other_bytes_is_checked_again(env):
    _, folder = _bundles(env)
    assert _listing(env, folder)[0] == ("echo0.pepperplugin", "ok")
    path = folder / "echo0.pepperplugin"
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # one signed byte: same size, other bytes
    with open(path, "r+b") as handle:  # same inode, same size
        handle.write(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # mtime set back
    assert path.stat().st_size == stat.st_size
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert _listing(env, folder)[0] == ("echo0.pepperplugin", "invalid")


def test_a_revoked_key_is_seen_by_the_next_listing(env):
    pub, folder = _bundles(env)
    assert {state for _, state in _listing(env, folder)} == {"ok"}
    TrustStore(env.settings.trust_file).revoke(pub.key_id)
    assert {state for _, state in _listing(env, folder)} == {"revoked"}


def test_a_revoked_bundle_is_seen_by_the_next_listing(env):
    _, folder = _bundles(env)
    digest = hashlib.sha256((folder / "echo1.pepperplugin").read_bytes()).hexdigest()
    assert {state for _, state in _listing(env, folder)} == {"ok"}
    TrustStore(env.settings.trust_file).revoke_bundle(digest)
    assert [state for _, state in _listing(env, folder)] == ["ok", "revoked", "ok"]


def test_the_verified_cache_keeps_thousands_of_entries_and_drops_stale_ones(tmp_path):
    from pepperpy.bundle.trust import VerifiedCache

    def entry(trust: str) -> dict[str, str]:
        return {"trust": trust, "key_id": "k", "publisher": "p", "manifest": "{}"}

    cache = VerifiedCache(tmp_path / "verified.json")
    cache.put("old", entry("fingerprint-0"))
    cache.flush()
    cache = VerifiedCache(tmp_path / "verified.json")
    for i in range(2000):  # more than the 512 entries it used to keep
        cache.put(f"d{i}", entry("fingerprint-1"))
    cache.flush()
    again = VerifiedCache(tmp_path / "verified.json")
    assert all(again.get(f"d{i}") == entry("fingerprint-1") for i in range(2000))
    assert again.get("old") is None  # another trust store's entry is gone
