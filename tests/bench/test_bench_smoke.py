"""Every ``bench/bench_*.py`` runs to the end in smoke mode, so a broken bench fails here.

Smoke mode is the same code with a few rounds and little data; nothing is timed or
compared against a target (the numbers are not asserted, only that the script works
and prints its table). A new bench script is picked up by the glob.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "bench").glob("bench_*.py"))

pytestmark = pytest.mark.slow


def test_every_bench_script_is_covered() -> None:
    assert len(SCRIPTS) >= 6
    for script in SCRIPTS:
        assert "--smoke" in script.read_text(), f"{script.name} has no --smoke mode"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_bench_runs_in_smoke_mode(script: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PEPPERPY_HOME": str(tmp_path / "home"),  # never the user's trust store
        "PEPPERPY_AUTO_INSTALL": "0",
    }
    run = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        cwd=tmp_path,  # not the checkout: its dist_plugins/ must not leak in
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{script.name} failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert run.stdout.strip(), f"{script.name} printed nothing"
