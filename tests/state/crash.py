"""Kill a real ``pepperpy`` command with SIGKILL at each of its write points.

``pepperpy.fsio`` numbers every write point of a process (temp file created, half the
bytes written, renamed, a folder made, a file removed); ``PEPPERPY_CRASH_LOG`` lists
them and ``PEPPERPY_CRASH_AT=N`` kills the process at the N-th. :func:`every_point`
runs the command once to count its points, then, for each point, copies a prepared
home, kills the command there, checks what must hold after a crash, runs the command
again without a crash, and checks that it finished and left nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

Check = Callable[[Path, str], None]


def pepperpy(home: Path, *args: object, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_AUTO_INSTALL="0",
                   PEPPERPY_CHECKOUT_PLUGINS="0", PEPPERPY_INDEX_TIMEOUT="5",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    for name in ("PEPPERPY_CRASH_AT", "PEPPERPY_CRASH_LOG", "PEPPERPY_PLUGIN_PATH"):
        environ.pop(name, None)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "pepperpy", *map(str, args)], env=environ,
                          cwd=cwd or home.parent, capture_output=True, text=True,
                          timeout=120)


def clone(base: Path, to: Path) -> Path:
    if to.exists():
        shutil.rmtree(to)
    shutil.copytree(base, to, symlinks=True)
    return to


def leftovers(folder: Path) -> list[str]:
    """Temporary files, staging folders and spool entries under ``folder``."""
    from pepperpy.fsio import is_temp_name

    found = []
    for path in folder.rglob("*"):
        name = path.name
        if is_temp_name(name) or name.startswith(".adding-") or (
                path.parent.name == "spool") or (
                path.parent.name == "metadata" and name.startswith("tmp")):
            found.append(str(path.relative_to(folder)))
    return sorted(found)


def every_point(base: Path, work: Path, argv: Sequence[object], *,
                after_crash: Check, after_rerun: Check,
                home_of: Callable[[Path], Path] = lambda root: root) -> list[str]:
    """Kill ``argv`` at each write point (see the module docstring); returns the labels.

    ``base`` is copied to ``work`` for each point; the command runs with
    ``PEPPERPY_HOME=home_of(work)``; paths in ``argv`` may point into ``work``.
    """
    log = work.parent / f"{work.name}-points.log"
    clone(base, work)
    log.unlink(missing_ok=True)
    first = pepperpy(home_of(work), *argv, env={"PEPPERPY_CRASH_LOG": str(log)})
    assert first.returncode == 0, first.stderr
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert labels, "the command wrote nothing"
    for point, label in enumerate(labels, start=1):
        clone(base, work)
        killed = pepperpy(home_of(work), *argv, env={"PEPPERPY_CRASH_AT": str(point)})
        assert killed.returncode == -9, (point, label, killed.stderr)
        after_crash(work, f"killed at {point} ({label})")
        again = pepperpy(home_of(work), *argv)
        assert again.returncode == 0, (point, label, again.stderr)
        after_rerun(work, f"rerun after {point} ({label})")
        assert leftovers(work) == [], (point, label, leftovers(work))
    return labels
