"""Benchmark bundle verification (a script, not a test).

1. A 50 MB bundle (incompressible data, so stored): full verify vs hashlib.sha256 over
   the same bytes, in the same run. Target ratio <= 1.3.
2. 1,000 small bundles: per-bundle verify time, and per-file listing time (what
   ``pepperpy plugin list`` does for a file it has not seen: screen, then verify).

Run: .venv/bin/python bench/bench_verify.py [--smoke]
(``--smoke``: a 1 MB bundle, 20 small ones, one round: the script still runs.)
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from pepperpy.bundle.trust import read_trust
from pepperpy.testing_bundles import BundleFactory
from pepperpy.trust.gate import verify_bundle

SMOKE = "--smoke" in sys.argv
MB = 1 if SMOKE else 50
SMALL = 20 if SMOKE else 1000
ROUNDS = 1 if SMOKE else 5


def best_of(n: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def big(factory: BundleFactory) -> None:
    files = factory.files(extra={"model/weights.bin": os.urandom(MB * 1000 * 1000)})
    data = factory.build(files)
    snapshot = factory.snapshot()
    verify_bundle(data, snapshot)  # warm up imports and caches
    t_sha = best_of(ROUNDS, lambda: hashlib.sha256(data).hexdigest())
    t_verify = best_of(ROUNDS, lambda: verify_bundle(data, snapshot))
    t_crc = best_of(ROUNDS, lambda: zlib.crc32(data))
    print(f"{MB} MB bundle ({len(data) / 1e6:.1f} MB): sha256 {t_sha * 1000:.1f} ms, "
          f"verify {t_verify * 1000:.1f} ms, ratio {t_verify / t_sha:.2f} (target <= 1.3)")
    # The format needs two SHA-256 passes (file, entry) and one CRC-32 pass; spread
    # perfectly over two cores that is (2 * sha + crc) / 2 of wall time.
    floor = (2 * t_sha + t_crc) / 2
    print(f"  work: 2 x sha256 + crc32 ({t_crc * 1000:.1f} ms); on 2 cores at best "
          f"{floor * 1000:.1f} ms, ratio {floor / t_sha:.2f}; cores here: {os.cpu_count()}")


def small(factory: BundleFactory) -> None:
    bundles = [factory.build(factory.files(manifest={"name": f"p{i:04d}"},
                                           extra={"README.md": f"plugin {i}\n".encode() * 20}))
               for i in range(SMALL)]
    snapshot = factory.snapshot()
    verify_bundle(bundles[0], snapshot)
    times = []
    for data in bundles:
        start = time.perf_counter()
        verify_bundle(data, snapshot)
        times.append(time.perf_counter() - start)
    print(f"{SMALL:,} small bundles ({len(bundles[0])} B each): verify median "
          f"{statistics.median(times) * 1e6:.0f} us, p95 "
          f"{sorted(times)[SMALL * 95 // 100 - 1] * 1e6:.0f} us, total {sum(times) * 1000:.0f} ms")
    from pepperpy.plugins.discovery import check_file
    from pepperpy.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(bundles):
            path = Path(tmp) / f"p{i:04d}.pepperplugin"
            path.write_bytes(data)
            paths.append(path)
        home = Path(tmp) / "home"
        factory.trust(home)
        trust = read_trust(Settings(home=home, checkout_plugins=False))
        start = time.perf_counter()
        for path in paths:
            assert "problem" not in check_file(path, trust)
        total = time.perf_counter() - start
        print(f"listing (check_file) over {SMALL:,} files: {total * 1000:.0f} ms total, "
              f"{total * 1e6 / SMALL:.0f} us each")


if __name__ == "__main__":
    f = BundleFactory(publisher="bench")
    big(f)
    small(f)
