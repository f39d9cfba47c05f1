"""A full disk (a file-size limit on the child process: writes past it fail with EFBIG,
as they would with ENOSPC) during install and during an index refresh: the old version
keeps loading, the error names the file being written, never a temporary file.

The child sets its own limit (a `python -c` that calls setrlimit, then runs the CLI)
instead of a `preexec_fn`: that would run Python in a fork of the test process, where a
library another test loaded (gRPC's threads) can abort the child before it execs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crash import REPO, leftovers, pepperpy

# Caps the file size, then runs `python -m pepperpy ARGS` in the same interpreter.
_CAPPED = ("import resource, runpy, sys\n"
           "limit = int(sys.argv.pop(1))\n"
           "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
           "runpy.run_module('pepperpy', run_name='__main__', alter_sys=True)\n")


def _limited(home: Path, limit: int, *args: object) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_AUTO_INSTALL="0",
                   PEPPERPY_CHECKOUT_PLUGINS="0",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", _CAPPED, str(limit), *map(str, args)],
                          env=environ, capture_output=True, text=True, timeout=120)


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [x for x in done.stderr.splitlines() if x.startswith("pepperpy: error")]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    return lines[0]


def test_full_disk_during_install_keeps_the_old_version(home) -> None:
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.plugins.state import load_state

    old, new = home.bundle("1.0.0"), home.bundle("2.0.0")
    assert pepperpy(home.home, "plugin", "install", old).returncode == 0
    limit = new.stat().st_size // 2  # the state files fit, the bundle does not
    line = _error_line(_limited(home.home, limit, "plugin", "install", new))
    assert str(home.home / "plugins" / "echo.pepperplugin") in line, line
    assert "File too large" in line and ".tmp" not in line, line
    loaded = PluginManager(home.settings).resolve("llm", "echo")
    assert loaded is not None and loaded.extra["version"] == "1.0.0"
    state = load_state(home.settings.state_file)
    assert state.plugins["echo"].version == "1.0.0" and state.pending == {}
    assert leftovers(home.home) == []
    assert pepperpy(home.home, "plugin", "install", new).returncode == 0  # space again


def test_full_disk_during_an_index_refresh_names_the_folder(home, tmp_path: Path) -> None:
    from pepperpy.bundle.keys import generate_key

    key = generate_key(publisher="index", out_dir=tmp_path / "keys").private_path
    repo = tmp_path / "repo"
    steps = [("repo", "init", repo, "--key", key),
             ("repo", "add", repo, home.bundle("1.0.0"), "--key", key),
             ("index", "add", "main", repo.as_uri(), "--root", repo / "metadata/1.root.json"),
             ("plugin", "install", "echo"),
             ("repo", "add", repo, home.bundle("2.0.0"), "--key", key)]
    for step in steps:
        done = pepperpy(home.home, *step)
        assert done.returncode == 0, (step, done.stderr)
    line = _error_line(_limited(home.home, 200, "plugin", "update"))
    assert str(home.home / "indexes" / "main" / "metadata") in line, line
    assert "tmp" not in line.replace(str(tmp_path), ""), line
    listed = pepperpy(home.home, "plugin", "list", "--json")
    assert [r["version"] for r in json.loads(listed.stdout)] == ["1.0.0"]
    assert leftovers(home.home) == []
    assert pepperpy(home.home, "plugin", "update").returncode == 0
