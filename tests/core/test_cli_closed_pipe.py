"""`pepperpy ... | head`: a reader that closes the pipe early is not an error to report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _keygen_into(stdout: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PEPPERPY_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "pepperpy", "keygen", "--publisher", "me",
                           "--out", str(tmp_path / "keys")], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120)


def test_a_closed_stdout_pipe_prints_no_error(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        done = _keygen_into(write, tmp_path)
    finally:
        os.close(write)
    assert done.stderr == ""  # no "pepperpy: error: Broken pipe", no ignored exception
    assert done.returncode == 1
    assert (tmp_path / "keys" / "me.key").is_file()  # the command itself ran


def test_other_output_errors_are_still_reported(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:  # writing fails, but not because a reader left
        done = _keygen_into(full.fileno(), tmp_path)
    assert done.returncode != 0
    assert "No space left on device" in done.stderr
