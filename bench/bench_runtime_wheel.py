"""What installing the runtime costs: wheel size, installed size, `import pepperpy` in
the installed venv, and `pip install` of the runtime wheel against `pip install openai`
(one provider SDK), each into a fresh venv with a warm pip cache.

The runtime wheel is built from the checkout (tools/dists.py, as `make dist` does). One
warm-up install of each fills the cache; then every round creates two fresh venvs (not
timed) and times `pip install` into each. The ratio is PepperPy's time over openai's
(goal: below 1, the core installs faster than one provider SDK).

    python bench/bench_runtime_wheel.py [--smoke]

``--smoke``: builds the wheel, installs it once and reports sizes and import time;
no openai install and no timing comparison.
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
sys.path.insert(0, str(ROOT / "tools"))

from dists import DISTRIBUTIONS, RUNTIME, build  # noqa: E402

SMOKE = "--smoke" in sys.argv
ROUNDS = 1 if SMOKE else 5


def venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin" / "python"


def pip_install(python: Path, *what: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *what], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                          "'purelib'))"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def import_ms(python: Path) -> float:
    samples = []
    for _ in range(1 if SMOKE else 7):
        err = subprocess.run([str(python), "-X", "importtime", "-c", "import pepperpy"],
                             capture_output=True, text=True, check=True).stderr
        row = [line for line in err.splitlines() if line.rstrip().endswith("| pepperpy")][-1]
        samples.append(float(row.split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-install-") as tmp:
        work = Path(tmp)
        wheel = next(p for p in build(DISTRIBUTIONS[RUNTIME], work / "dist",
                                      workdir=work / "stage") if p.suffix == ".whl")
        empty = site_packages(venv(work / "empty"))
        base = size(work / "empty")
        python = venv(work / "warm")
        pip_install(python, str(wheel))  # the warm-up fills pip's cache
        installed = site_packages(python)
        print(f"runtime wheel ({wheel.name}): {wheel.stat().st_size / 1024:.0f} KiB")
        print(f"installed: pepperpy/ {size(installed / 'pepperpy') / 1024:.0f} KiB; "
              f"with its dependencies {(size(work / 'warm') - base) / 2**20:.1f} MiB "
              f"(the venv over an empty one; the uv binary alone "
              f"{(work / 'warm' / 'bin' / 'uv').stat().st_size / 2**20:.0f} MiB)")
        there = {p.name for p in empty.glob("*.dist-info")}
        deps = sorted(p.name.split("-")[0] for p in installed.glob("*.dist-info")
                      if p.name not in there)
        print(f"distributions installed ({len(deps)}): {', '.join(deps)}")
        print(f"import pepperpy (installed wheel, -X importtime, median of warm runs): "
              f"{import_ms(python):.1f} ms")
        if SMOKE:
            return 0
        pip_install(venv(work / "warm-openai"), "openai")
        ours, theirs = [], []
        for n in range(ROUNDS):
            ours.append(pip_install(venv(work / f"p{n}"), str(wheel)))
            theirs.append(pip_install(venv(work / f"o{n}"), "openai"))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"\npip install into a fresh venv, warm cache, median of {ROUNDS}:")
        print("| what | median | ratio |\n| --- | --- | --- |")
        print(f"| runtime wheel | {a:.2f} s | {a / b:.2f}x |")
        print(f"| openai | {b:.2f} s | 1x |")
    return 0


if __name__ == "__main__":
    os.environ.pop("PIP_REQUIRE_VIRTUALENV", None)
    raise SystemExit(main())
