"""`make demo` and `make test` set up only when their inputs changed (real make, dry run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

def _checkout(tmp_path: Path) -> Path:
    """The Makefile with a pyproject.toml and a venv whose set-up already ran."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pepperplug"\n')
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("")
    (tmp_path / "wheels").mkdir()
    return tmp_path


def _dry_run(repo: Path, target: str) -> str:
    env = {**os.environ, "PEPPERPY_WHEEL_CACHE": str(repo / "wheels")}
    done = subprocess.run(["make", "-n", target], cwd=repo, env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def _stamp(repo: Path, *names: str) -> None:
    for name in names:
        (repo / ".venv" / name).touch()


def test_a_first_run_installs_and_a_second_goes_straight_to_the_demo(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    first = _dry_run(repo, "demo")
    assert "pip install --quiet -e . -e packages/pepperplug-testing -e packages/pepperplug-dev" \
        in first and "tools/demo.py" in first
    _stamp(repo, ".pepperpy-core-installed")
    second = _dry_run(repo, "demo")
    assert "pip install" not in second
    assert "tools/demo.py" in second and "llama_wheel.sh" in second  # one `ls` when cached


def test_a_changed_pyproject_sets_up_again(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    _stamp(repo, ".pepperpy-core-installed", ".pepperpy-test-installed")
    assert "pip install" not in _dry_run(repo, "test")
    later = (repo / ".venv" / ".pepperpy-test-installed").stat().st_mtime + 10
    os.utime(repo / "pyproject.toml", (later, later))
    again = _dry_run(repo, "test")
    assert "pip install --quiet -e ." in again and "-e '.[test]'" in again


def test_a_new_llama_wheel_reinstalls_the_test_environment(tmp_path: Path) -> None:
    repo = _checkout(tmp_path)
    _stamp(repo, ".pepperpy-core-installed", ".pepperpy-test-installed")
    wheel = repo / "wheels" / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"
    wheel.touch()
    later = (repo / ".venv" / ".pepperpy-test-installed").stat().st_mtime + 10
    os.utime(wheel, (later, later))
    out = _dry_run(repo, "test")
    assert "-e '.[test]'" in out and "pip install --quiet -e . -e" not in out
