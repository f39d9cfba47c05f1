"""The mutation run's table (tools/mutation_run.py) cannot rot silently: every source
snippet it removes still exists exactly once, and every test it names still exists.
The run itself is slow and not part of ``make test``: ``make mutation``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "mutation_run.py"


def test_list_runs_and_every_snippet_is_in_the_source():
    done = subprocess.run([sys.executable, str(TOOL), "--list"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "stale table" not in done.stderr
    assert len([ln for ln in done.stdout.splitlines() if not ln.startswith(" ")]) >= 25


def test_every_named_test_is_collected():
    sys.path.insert(0, str(TOOL.parent))
    try:
        import mutation_run
    finally:
        sys.path.remove(str(TOOL.parent))
    tests = sorted({t for mu in mutation_run.MUTATIONS for t in mu.tests})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *tests], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
