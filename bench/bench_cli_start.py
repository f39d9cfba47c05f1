"""What a command's start costs: everyday `pepperpy` commands against a bare interpreter.

    .venv/bin/python bench/bench_cli_start.py [--smoke]

Each command is a fresh process of this checkout (``python -m pepperpy``) against a
loopback index, so the interpreter, the imports and the command's own work all count;
the baseline is the same interpreter running nothing (``python -c pass``, site
included), in the same rounds. Commands: a no-change ``plugin update`` (the quick
refresh), ``plugin install NAME`` of what is installed (unchanged), ``plugin list``,
``plugin verify FILE`` of a small bundle, ``trust list`` and ``--help``. Rounds are
interleaved; each line gives the median wall and CPU (user + system) ms, the CPU ms over
the bare interpreter, and the modules the command imported (one ``-X importtime`` run).
``--against DIR``: also run every command from another checkout of PepperPy (say, an
extracted ``git archive main``), interleaved, and print the CPU ratio of this one to it.
``--smoke``: two rounds (the test suite runs that).
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_install import publish  # noqa: E402

from pepperpy.distribution.fetch import Session, add_index  # noqa: E402
from pepperpy.settings import Settings  # noqa: E402
from pepperpy_testing.bundles import BundleFactory  # noqa: E402

SMOKE = "--smoke" in sys.argv
ROUNDS = 2 if SMOKE else 15
OTHER = Path(sys.argv[sys.argv.index("--against") + 1]) if "--against" in sys.argv else None


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU ms of one fresh process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          cwd=tempfile.gettempdir())  # not a checkout: PYTHONPATH decides
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def modules(cmd: list[str], env: dict[str, str]) -> int:
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env,
                          capture_output=True, text=True, check=True,
                          cwd=tempfile.gettempdir())
    return sum(line.startswith("import time:") for line in done.stderr.splitlines()) - 1


def main() -> None:
    trees = {"this": ROOT, **({"other": OTHER} if OTHER else {})}
    for tree in trees.values():
        compileall.compile_dir(tree / "pepperpy", quiet=1)
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-cli-") as name:
        work = Path(name)
        factory = BundleFactory(publisher="acme")
        bundle = work / "tiny-1.0.0.pepperplugin"
        bundle.write_bytes(factory.build(factory.files(manifest={
            "name": "tiny", "provider_name": "tiny", "entry_point": "tiny_pkg:Provider"})))
        url, root = publish(work, factory, bundle)
        settings = Settings(home=work / "home", auto_install=False, checkout_plugins=False)
        factory.trust(settings.home)
        add_index(settings, "main", url, root)
        Session(settings).install("tiny", deps=False)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PEPPERPY_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PEPPERPY_HOME=str(settings.home), PEPPERPY_AUTO_INSTALL="0",
                   PEPPERPY_CHECKOUT_PLUGINS="0")
        envs = {t: dict(env, PYTHONPATH=os.pathsep.join([str(d), env.get("PYTHONPATH", "")]))
                for t, d in trees.items()}
        pepperpy = [sys.executable, "-m", "pepperpy"]
        commands = {
            "bare interpreter": [sys.executable, "-c", "pass"],
            "plugin update (no change)": [*pepperpy, "plugin", "update", "--no-deps"],
            "plugin install tiny (unchanged)": [*pepperpy, "plugin", "install", "tiny",
                                                "--no-deps"],
            "plugin list": [*pepperpy, "plugin", "list"],
            "plugin verify FILE": [*pepperpy, "plugin", "verify", str(bundle)],
            "trust list": [*pepperpy, "trust", "list"],
            "--help": [*pepperpy, "--help"],
        }
        runs = [(label, tree) for label in commands for tree in trees]
        walls: dict[tuple[str, str], list[float]] = {r: [] for r in runs}
        cpus: dict[tuple[str, str], list[float]] = {r: [] for r in runs}
        for _ in range(ROUNDS):
            for label, tree in runs:
                wall, cpu = timed(commands[label], envs[tree])
                walls[label, tree].append(wall)
                cpus[label, tree].append(cpu)
        report(commands, trees, envs, walls, cpus)


def report(commands: dict[str, list[str]], trees: dict[str, Path],
           envs: dict[str, dict[str, str]], walls: dict[tuple[str, str], list[float]],
           cpus: dict[tuple[str, str], list[float]]) -> None:
    print(f"{ROUNDS} interleaved rounds, load average {os.getloadavg()[0]:.2f}"
          + (f"; other checkout: {OTHER}" if OTHER else ""))
    print(f"{'command':34} {'tree':5} {'wall ms':>8} {'CPU ms':>8} {'over bare':>10} "
          f"{'modules':>7}" + ("  CPU this/other (min..max)" if OTHER else ""))
    for label, cmd in commands.items():
        for tree in trees:
            base = statistics.median(cpus["bare interpreter", tree])
            cpu = statistics.median(cpus[label, tree])
            line = (f"{label:34} {tree:5} {statistics.median(walls[label, tree]):8.1f} "
                    f"{cpu:8.1f} {cpu - base:+10.1f} {modules(cmd, envs[tree]):7d}")
            if tree == "this" and OTHER:
                ratios = [a / b for a, b in zip(cpus[label, "this"], cpus[label, "other"],
                                                strict=True)]
                line += (f"  {statistics.median(ratios):.3f} "
                         f"({min(ratios):.3f}..{max(ratios):.3f})")
            print(line)


if __name__ == "__main__":
    main()
