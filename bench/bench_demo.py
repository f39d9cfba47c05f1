"""The main job's second run: time until the first question, answers unchanged.

    python bench/bench_demo.py [--runs 5] [--smoke]

Runs ``python tools/demo.py`` in a scratch copy of the checkout (``pyproject.toml``,
``pepperpy/``, ``tools/demo.py``, ``plugin_src/``, ``examples/corpus/``; the demo builds
the checkout it is part of, so it signs and builds there, never in this checkout) with a
scratch ``PEPPERPY_HOME``: once to set up (key, bundles, embeddings),
then ``--runs`` more times. For each later run it takes the time from process start
to the demo's "ready for the first question" line, and checks that the answers are
those of the first run. The baseline, in the same run: a fresh interpreter importing
the libraries the demo's providers need (chromadb, llama_cpp, onnxruntime,
tokenizers), the floor for any process that uses them. Also printed: what `make
demo` adds before the demo starts, now that its set-up steps are stamped (`make -s
setup` when everything is current). Target: <= 3 s in all.
``--smoke``: one later run, no make.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "tools/demo.py"]
FLOOR = "import chromadb, llama_cpp, onnxruntime, tokenizers"


def scratch_checkout(into: Path) -> Path:
    """The parts of the checkout the demo reads, copied (it writes dist_plugins/)."""
    repo = into / "checkout"
    (repo / "dist_plugins").mkdir(parents=True)
    (repo / "examples").mkdir()
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    for tree in ("pepperpy", "plugin_src"):
        shutil.copytree(ROOT / tree, repo / tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "examples" / "corpus", repo / "examples" / "corpus")
    (repo / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "demo.py", repo / "tools" / "demo.py")
    return repo


def run_demo(repo: Path, env: dict[str, str]) -> tuple[float, list[str]]:
    """Seconds from start to "ready for the first question", and the answers."""
    start = time.perf_counter()
    proc = subprocess.Popen(DEMO, cwd=repo, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready = None
    answers = []
    for line in proc.stdout:
        if ready is None and "ready for the first question" in line:
            ready = time.perf_counter() - start
        if line.startswith("A: "):
            answers.append(line.strip())
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0 or ready is None:
        raise SystemExit(f"the demo failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    return ready, answers


def floor_seconds(env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR], check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_overhead(runs: int) -> float:
    """``make -s setup`` when every stamp is current: what `make demo` adds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(["make", "-s", "-C", str(ROOT), "setup"], capture_output=True,
                              text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0 or re.search(r"pip install", done.stdout):
            raise SystemExit(f"make setup is not a no-op here:\n{done.stdout}{done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one later run, no make")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as tmp:
        repo = scratch_checkout(Path(tmp))
        env = dict(os.environ, PEPPERPY_HOME=str(Path(tmp, "home")), PYTHONPATH=str(repo))
        env.pop("PEPPERPY_PLUGIN_PATH", None)
        first_ready, first = run_demo(repo, env)
        later = [run_demo(repo, env) for _ in range(runs)]
        floor = floor_seconds(env, max(runs, 1))
    ready = statistics.median(r for r, _ in later)
    same = all(answers == first for _, answers in later)
    make = 0.0 if args.smoke else make_overhead(3)
    print(f"the demo in a scratch checkout: first run {first_ready:.2f}s to the first "
          f"question (set-up included); later runs, median of {runs}:")
    print(f"  {'import floor (chromadb, llama_cpp, onnxruntime, tokenizers)':<62}"
          f"{floor:6.2f}s  1.00x")
    print(f"  {'ready for the first question':<62}{ready:6.2f}s  {ready / floor:.2f}x")
    if not args.smoke:
        print(f"  {'make -s setup, everything current':<62}{make:6.2f}s")
    print(f"  make demo to the first question: {ready + make:.2f}s (target <= 3 s); "
          f"answers identical to the first run: {same} ({len(first)} answers)")


if __name__ == "__main__":
    main()
