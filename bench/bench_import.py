"""How long `import pepperpy` takes, next to langchain_core and llama_index.core; and
how long the `pepperpy` command takes for `--help` and `plugin list`, next to a bare
interpreter (`python -c pass`) in the same environment.

Runs each import 7 times in fresh interpreters with `-X importtime` and prints the
median cumulative microseconds of the top-level package. The comparison libraries
are installed (once) into a throwaway venv under ~/.cache/pepperpy/bench-venv with
uv, so the project's own environment stays clean.

    python bench/bench_import.py [--smoke]

``--smoke``: one run each, and the comparison libraries only if their venv exists
(no install), so the script is checked without the network.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pepperpy/bench-venv"
SMOKE = "--smoke" in sys.argv
RUNS = 1 if SMOKE else 7


def import_time_us(python: str, module: str, *, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True, text=True, check=True, env=env,
        ).stderr
        top = module.split(".")[0]
        rows = [line for line in out.splitlines() if line.rstrip().endswith(f"| {module}")]
        rows = rows or [line for line in out.splitlines() if line.rstrip().endswith(f"| {top}")]
        samples.append(float(rows[-1].split("|")[1]))
    return statistics.median(samples)


def wall_ms(command: list[str], env: dict[str, str]) -> float:
    """Median wall time of a fresh process running ``command`` (after one warm-up)."""
    subprocess.run(command, capture_output=True, check=True, env=env)
    samples = []
    for _ in range(RUNS * 2 + 1):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def bench_cli() -> None:
    cli = str(Path(sys.executable).with_name("pepperpy"))
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as home:
        env = dict(os.environ, PEPPERPY_HOME=home, PEPPERPY_CHECKOUT_PLUGINS="0")
        bare = wall_ms([sys.executable, "-c", "pass"], env)
        print(f"\n{'command':<24}{'median ms':>10}{'x bare python':>15}")
        print(f"{'python -c pass':<24}{bare:>10.1f}{1:>15.2f}")
        for args in (["--help"], ["plugin", "list"]):
            took = wall_ms([cli, *args], env)
            print(f"{'pepperpy ' + ' '.join(args):<24}{took:>10.1f}{took / bare:>15.2f}")


def comparison_python() -> str:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        from uv import find_uv_bin

        uv = find_uv_bin()
        print(f"installing langchain-core and llama-index-core into {BENCH_VENV} ...")
        subprocess.run(
            [uv, "venv", "--quiet", "--python", sys.executable, str(BENCH_VENV)], check=True
        )
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(python),
             "langchain-core", "llama-index-core"],
            check=True,
        )
    return str(python)


def main() -> None:
    ours = import_time_us(sys.executable, "pepperpy")
    rows = [("pepperpy", ours), ("json (stdlib)", import_time_us(sys.executable, "json"))]
    if not SMOKE or (BENCH_VENV / "bin" / "python").exists():
        other = comparison_python()
        for module in ("langchain_core", "llama_index.core"):
            rows.append((module, import_time_us(other, module)))
    print(f"{'module':<20}{'median ms':>10}{'x pepperpy':>12}")
    for name, micros in rows:
        print(f"{name:<20}{micros / 1000:>10.1f}{micros / ours:>12.1f}")
    print(f"target: pepperpy < 30 ms -> {'OK' if ours < 30_000 else 'MISSED'}")
    bench_cli()


if __name__ == "__main__":
    main()
