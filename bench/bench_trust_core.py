"""Trust-core benchmarks: hostile files in the plugin folders (prints numbers and ratios).

1. A healthy provider load in a fresh process, with parser bait in every searched folder
   (unsigned and attacker-signed regex bait, mixed arrays, deep JSON, a sparse 400 MB file
   declaring a huge central directory) vs the same load with clean folders. Target:
   within a second.
2. Peak memory of `pepperpy plugin list` with the same files vs clean folders. Target:
   under 64 MB.

Run: ``.venv/bin/python bench/bench_trust_core.py [--smoke]``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from plugins.fixtures.echo import echo_files  # noqa: E402
from plugins.test_trust_core import PEAK, _plant_hostile_files  # noqa: E402

from pepperpy.bundle.build import build_bytes  # noqa: E402
from pepperpy.bundle.keys import SigningKey  # noqa: E402
from pepperpy.bundle.trust import TrustStore  # noqa: E402

LOAD = ("from pepperpy.plugins.manager import PluginManager\n"
        "assert PluginManager().resolve('llm', 'echo') is not None\n")
LIST = (PEAK + "import io, contextlib\nfrom pepperpy.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['plugin', 'list'])\n"
        "print(_peak_kib())\n")


def _run(code: str, home: Path, folder: Path) -> tuple[float, str]:
    env = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_DEV="1",
               PEPPERPY_PLUGIN_PATH=str(folder), PEPPERPY_AUTO_INSTALL="0",
               PYTHONPATH=str(REPO))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=folder, timeout=300)
    return time.perf_counter() - start, out.stdout


def main() -> None:
    rounds = 2 if "--smoke" in sys.argv else 7
    key, attacker = SigningKey.generate(), SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bundle = build_bytes(echo_files(marker=tmp / "marker"), key).data
        results: dict[str, tuple[list[float], list[int]]] = {}
        for label, hostile in (("clean folders", False), ("hostile files", True)):
            home, folder = tmp / label / "home", tmp / label / "plugins"
            TrustStore(home / "trust.json").add(key.public_key.pem(), publisher="bench")
            folder.mkdir(parents=True)
            (folder / "echo.pepperplugin").write_bytes(bundle)
            if hostile:
                _plant_hostile_files(folder, attacker)
                _plant_hostile_files(home / "plugins", attacker)
            _run(LOAD, home, folder)  # first run fills the index and verified caches
            loads = [_run(LOAD, home, folder)[0] for _ in range(rounds)]
            peaks = [int(_run(LIST, home, folder)[1].split()[-1]) for _ in range(rounds)]
            results[label] = (loads, peaks)
        (clean_t, clean_m), (bad_t, bad_m) = results["clean folders"], results["hostile files"]
        ct, bt = statistics.median(clean_t), statistics.median(bad_t)
        print(f"fresh-process provider load, median of {rounds} (interpreter included)")
        print(f"  clean folders            : {ct * 1000:8.1f} ms")
        print(f"  14 hostile files per dir : {bt * 1000:8.1f} ms  ratio {bt / ct:.2f}x "
              "(target: within 1 s)")
        print("peak RSS of `pepperpy plugin list`")
        print(f"  clean folders            : {max(clean_m) / 1024:8.1f} MB")
        print(f"  hostile files            : {max(bad_m) / 1024:8.1f} MB  ratio "
              f"{max(bad_m) / max(clean_m):.2f}x (target < 64 MB)")


if __name__ == "__main__":
    main()
