"""Benchmark bundle verification (a script, not a test).

1. A 50 MB bundle (incompressible data, so stored): full verify vs hashlib.sha256 over
   the same bytes, in the same run. Target ratio <= 1.3.
2. 1,000 small bundles: per-bundle verify time, and per-file listing time (what
   ``pepperpy plugin list`` does for a file it has not seen: screen, then verify).
3. ``pepperpy plugin verify FILE`` as a fresh process, for a 1 MB and a 500 MB bundle,
   against a fresh process that runs one ``hashlib.file_digest`` over the same file:
   wall time, CPU time and peak RSS, interleaved rounds (targets: 1 MB <= 0.06 s; 500 MB
   <= 1.3x, memory bounded); also the ratio of wall times less the time each main
   thread waited for a core (other work on a shared machine), which a quiet machine
   shows as the plain ratio. ``plugin verify`` streams the file (``gate.check``): one
   pass in 1 MiB chunks (the CRC-32 of each on a second thread while it is hashed),
   keeping only local headers, deflated entries and the tail.
4. A 150 MB file naming the trusted key with a forged signature: ``plugin verify`` in a
   fresh process (refused after one bounded pass) against the same hash-only process.

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
from pepperpy.trust.authentic import encode_signature_entry
from pepperpy.trust.gate import Trust, authenticate, check, verify_bundle
from pepperpy_testing.bundles import BundleFactory, make_entry, pack

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
    # The format needs one SHA-256 pass and a CRC-32 of each stored entry; taken in
    # 1 MiB slices, the CRC of each runs on a second thread while it is hashed.
    print(f"  work: sha256 + crc32 (crc32 alone over the bytes in memory: "
          f"{t_crc * 1000:.1f} ms, {t_crc / t_sha:.2f} of sha256)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pepperplugin"
        path.write_bytes(data)

        class NoCache:
            def get(self, digest: str) -> None:
                return None

            def put(self, digest: str, entry: dict[str, str]) -> None:
                pass

        trust = Trust(snapshot, "bench", NoCache())

        def file_sha() -> None:
            with path.open("rb") as handle:
                hashlib.file_digest(handle, "sha256")

        t_file = best_of(ROUNDS, file_sha)
        t_check = best_of(ROUNDS, lambda: check(path, trust))
        t_auth = best_of(ROUNDS, lambda: authenticate(path, trust))
        print(f"  from the file: hashlib.file_digest {t_file * 1000:.1f} ms, streaming check "
              f"{t_check * 1000:.1f} ms (ratio {t_check / t_file:.2f}), authenticate (bytes "
              f"kept) {t_auth * 1000:.1f} ms (ratio {t_auth / t_file:.2f})")


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


# Peak RSS (KiB), then how long the main thread was ready to run but waited for a core
# (ns, /proc schedstat): with other work on the machine, the CRC thread and the main
# thread can end up sharing one core; wall time minus that wait is what a quiet
# machine would show.
PEAK_AND_WAIT = ("print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], "
                 "open('/proc/self/schedstat').read().split()[1])\n")
HASH_ONLY = ("import hashlib, sys\n"
             "with open(sys.argv[1], 'rb') as f:\n"
             "    hashlib.file_digest(f, 'sha256')\n"
             f"{PEAK_AND_WAIT}")
VERIFY_CLI = ("import sys\n"
              "from pepperpy.cli import main\n"
              "code = main(['plugin', 'verify', sys.argv[1]])\n"
              f"{PEAK_AND_WAIT}"
              "sys.exit(code)\n")


Child = tuple[float, int, float, float]


def _timed_child(code: str, path: Path, env: dict[str, str], *, expect: int = 0) -> Child:
    """(wall seconds, peak RSS KiB, CPU seconds, seconds the main thread waited for a
    core) of one fresh process."""
    before = os.times()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env,
                         capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = os.times()
    if out.returncode != expect:
        raise SystemExit(f"child failed:\n{out.stdout[-1000:]}{out.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    peak, waited = out.stdout.split()[-2:]
    return took, int(peak), cpu, int(waited) / 1e9


def _rounds(path: Path, env: dict[str, str], rounds: int, expect: int
            ) -> tuple[list[Child], list[Child]]:
    ours: list[Child] = []
    base: list[Child] = []
    for i in range(rounds):
        order = ((VERIFY_CLI, ours, expect), (HASH_ONLY, base, 0))
        for code, into, code_expect in order if i % 2 == 0 else order[::-1]:
            into.append(_timed_child(code, path, env, expect=code_expect))
    return ours, base


def _report(what: str, ours: list[Child], base: list[Child]) -> None:
    ratios = [o[0] / b[0] for o, b in zip(ours, base, strict=True)]
    unwaited = [(o[0] - o[3]) / (b[0] - b[3]) for o, b in zip(ours, base, strict=True)]
    print(f"{what}: {statistics.median(o[0] for o in ours):.3f} s (CPU "
          f"{statistics.median(o[2] for o in ours):.3f} s) vs one hashlib pass "
          f"{statistics.median(b[0] for b in base):.3f} s (CPU "
          f"{statistics.median(b[2] for b in base):.3f} s): ratio "
          f"{statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f}); peak RSS "
          f"{max(o[1] for o in ours) / 1024:.0f} MiB vs {max(b[1] for b in base) / 1024:.0f} MiB"
          f"; without the main threads' waits for a core {statistics.median(unwaited):.2f} "
          f"({min(unwaited):.2f}..{max(unwaited):.2f})")


def cli(factory: BundleFactory) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        factory.trust(home)
        env = dict(os.environ, PEPPERPY_HOME=str(home))
        for mb in (1, 5) if SMOKE else (1, 500):
            path = Path(tmp) / f"b{mb}.pepperplugin"
            path.write_bytes(factory.build(factory.files(
                extra={"model/weights.bin": os.urandom(mb * 1000 * 1000)})))
            ours, base = _rounds(path, env, ROUNDS if mb < 100 else min(ROUNDS, 3), 0)
            _report(f"pepperpy plugin verify, {mb} MB bundle, fresh process", ours, base)
            path.unlink()
        mb = 5 if SMOKE else 150
        path = Path(tmp) / "forged.pepperplugin"
        files = factory.files(extra={"model/weights.bin": os.urandom(mb * 1000 * 1000)})
        sig = encode_signature_entry(key_id=factory.key.key_id, signature=bytes(64))
        path.write_bytes(pack([*(make_entry(n, c) for n, c in sorted(files.items())),
                               make_entry(".pepperpy-signature", sig)]))
        ours, base = _rounds(path, env, min(ROUNDS, 3), 1)
        _report(f"forged signature naming the trusted key, {mb} MB, plugin verify refuses",
                ours, base)


if __name__ == "__main__":
    print(f"load average {os.getloadavg()[0]:.2f}, cores {os.cpu_count()}")
    f = BundleFactory(publisher="bench")
    big(f)
    small(f)
    cli(f)
