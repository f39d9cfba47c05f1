"""Benchmark bundle verification (a script, not a test).

1. A 50 MB bundle (incompressible data, so stored): full verify vs hashlib.sha256 over
   the same bytes, in the same run. Target ratio <= 1.3.
2. 1,000 small bundles: per-bundle verify time, and per-file listing time (what
   ``pepperpy plugin list`` does for a file it has not seen: screen, then verify).
3. ``pepperpy plugin verify FILE`` as a fresh process, for a 1 MB and a 500 MB bundle,
   against a fresh process that runs one ``hashlib.file_digest`` over the same file:
   wall time and peak RSS, interleaved rounds (targets: 1 MB <= 0.06 s; 500 MB <= 1.3x,
   memory bounded).

Run: .venv/bin/python bench/bench_verify.py [--smoke]
(``--smoke``: a 1 MB bundle, 20 small ones, 1 and 5 MB files, one round: the script
still runs.)
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from pepperpy.bundle.trust import read_trust
from pepperpy.trust.gate import verify_bundle
from pepperpy_testing.bundles import BundleFactory

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


HASH_ONLY = ("import hashlib, sys\n"
             "with open(sys.argv[1], 'rb') as f:\n"
             "    hashlib.file_digest(f, 'sha256')\n"
             "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n")
VERIFY_CLI = ("import sys\n"
              "from pepperpy.cli import main\n"
              "code = main(['plugin', 'verify', sys.argv[1]])\n"
              "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
              "sys.exit(code)\n")


def _timed_child(code: str, path: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env,
                         capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stdout[-1000:]}{out.stderr[-2000:]}")
    return took, int(out.stdout.split()[-1])


def cli(factory: BundleFactory) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        factory.trust(home)
        env = dict(os.environ, PEPPERPY_HOME=str(home))
        for mb in (1, 5) if SMOKE else (1, 500):
            path = Path(tmp) / f"b{mb}.pepperplugin"
            path.write_bytes(factory.build(factory.files(
                extra={"model/weights.bin": os.urandom(mb * 1000 * 1000)})))
            ours, base = [], []
            for i in range(ROUNDS if mb < 100 else min(ROUNDS, 3)):
                for code, into in ((VERIFY_CLI, ours), (HASH_ONLY, base)) if i % 2 == 0 else (
                        (HASH_ONLY, base), (VERIFY_CLI, ours)):
                    into.append(_timed_child(code, path, env))
            ratios = [o[0] / b[0] for o, b in zip(ours, base, strict=True)]
            t_ours = statistics.median(o[0] for o in ours)
            t_base = statistics.median(b[0] for b in base)
            print(f"pepperpy plugin verify, {mb} MB bundle, fresh process: {t_ours:.3f} s vs "
                  f"one hashlib pass {t_base:.3f} s: ratio {statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}..{max(ratios):.2f}); peak RSS "
                  f"{max(o[1] for o in ours) / 1024:.0f} MiB vs "
                  f"{max(b[1] for b in base) / 1024:.0f} MiB")
            path.unlink()


if __name__ == "__main__":
    f = BundleFactory(publisher="bench")
    big(f)
    small(f)
    cli(f)
