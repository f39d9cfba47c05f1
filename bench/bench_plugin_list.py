"""`pepperpy plugin list` with 1,000 and 5,000 bundles vs reading each plugin.json.

    .venv/bin/python bench/bench_plugin_list.py [--smoke] [--sizes 1000,5000]

N distinct signed bundles (the echo test plugin, one version each) sit in a folder on
PEPPERPY_PLUGIN_PATH, signed by a trusted key. Both sides are fresh processes:
``pepperpy plugin list`` (every bundle checked: signature, install record, policy,
dependencies; no plugin code runs) against a Python process that opens every bundle
with ``zipfile`` and parses its ``plugin.json`` (no checks at all). "Cold" is the first
listing (nothing cached); "warm" repeats it with nothing changed. Warm rounds are
interleaved; the line prints the median of per-round ratios with min..max
(target: warm <= 2x). ``--smoke``: 20 bundles, two rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from plugins.fixtures.echo import echo_files  # noqa: E402

from pepperpy.bundle.build import build_bytes  # noqa: E402
from pepperpy.bundle.keys import SigningKey  # noqa: E402
from pepperpy.bundle.trust import TrustStore  # noqa: E402

BASELINE = """
import json, os, sys, zipfile
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    with zipfile.ZipFile(os.path.join(folder, name)) as z:
        json.loads(z.read("plugin.json"))
"""


def _run(cmd: list[str], env: dict[str, str], listed: int | None = None) -> float:
    """Wall time of ``cmd``; with ``listed``, it must have printed that many bundles
    (a listing that found nothing would be fast and wrong)."""
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{cmd} failed:\n{out.stderr[-3000:]}")
    if listed is not None:
        found = sum("echo" in line for line in out.stdout.splitlines())
        if found < listed:
            raise SystemExit(f"plugin list showed {found} of {listed} bundles:\n"
                             f"{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return took


def one_size(n: int, rounds: int, key: SigningKey, tmp: Path) -> None:
    folder = tmp / f"bundles-{n}"
    folder.mkdir()
    for i in range(n):  # distinct bytes: nothing shared between files
        data = build_bytes(echo_files(marker=tmp / "m", version=f"1.0.{i}"), key).data
        (folder / f"p{i:05d}.pepperplugin").write_bytes(data)
    home = tmp / f"home-{n}"
    TrustStore(home / "trust.json").add(key.public_key.pem(), publisher="bench")
    # Searched folders are candidates only in development mode (PEPPERPY_DEV=1).
    env = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_PLUGIN_PATH=str(folder),
               PEPPERPY_DEV="1", PEPPERPY_CHECKOUT_PLUGINS="0", PEPPERPY_AUTO_INSTALL="0")
    pepperpy = [sys.executable, "-m", "pepperpy", "plugin", "list"]
    baseline = [sys.executable, "-c", BASELINE, str(folder)]
    cold = _run(pepperpy, env, listed=n)
    _run(baseline, env)
    ours, base = [], []
    for i in range(rounds):
        for cmd, into in ((pepperpy, ours), (baseline, base)) if i % 2 == 0 else (
                (baseline, base), (pepperpy, ours)):
            into.append(_run(cmd, env, listed=n if cmd is pepperpy else None))
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    print(f"{n:,} bundles ({rounds} interleaved warm rounds, fresh processes)")
    print(f"  zipfile + json.loads of every plugin.json  {statistics.median(base) * 1000:8.0f} ms")
    print(f"  pepperpy plugin list, warm                 {statistics.median(ours) * 1000:8.0f} ms"
          f"   ratio {statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f}, "
          "target <= 2)")
    print(f"  pepperpy plugin list, cold (first listing) {cold * 1000:8.0f} ms"
          f"   ratio {cold / statistics.median(base):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    sizes = [20] if args.smoke else [int(s) for s in args.sizes.split(",")]
    rounds = 2 if args.smoke else args.rounds
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-list-") as name:
        for n in sizes:
            one_size(n, rounds, key, Path(name))


if __name__ == "__main__":
    main()
