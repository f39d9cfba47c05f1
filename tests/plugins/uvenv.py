"""Throwaway venvs for real uv installs, laid out like a real application's environment.

The venv's own site-packages comes first on ``sys.path``; the project's site-packages
(the core's dependencies, PepperPy's metadata) is added after it by a ``.pth`` file,
and the worktree's ``pepperpy`` comes first through ``PYTHONPATH``. So anything uv
installs into the venv shadows the project's copy, exactly as it would replace the
core's dependency in a real environment, while the project's venv is never touched
(uv only sees and changes the throwaway venv's own site-packages).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROJECT_SITE = sysconfig.get_paths()["purelib"]


def make_venv(target: Path) -> Path:
    import uv

    subprocess.run([uv.find_uv_bin(), "venv", "-q", "--offline", "--no-config", str(target),
                    "--python", sys.executable], check=True, timeout=120)
    (site_packages(target) / "zz_pepperpy_tests.pth").write_text(
        f"import site; site.addsitedir({PROJECT_SITE!r})\n")
    return target


def site_packages(venv: Path) -> Path:
    [folder] = (venv / "lib").glob("python*/site-packages")
    return folder


def installed_in_venv(venv: Path) -> dict[str, str]:
    """Distributions in the venv's own site-packages (what uv installed): name -> version."""
    out = {}
    for info in site_packages(venv).glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        out[name.lower().replace("_", "-")] = version
    return out


def child_environ(settings: Any, tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PEPPERPY_"))}
    environ.update({
        "PYTHONPATH": str(REPO),
        "PEPPERPY_HOME": str(settings.home),
        "PEPPERPY_NO_INDEX": "1",
        "PEPPERPY_FIND_LINKS": str(tmp / "wheels"),
        "PEPPERPY_AUTO_INSTALL": "1",
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        **(extra or {}),
    })
    return environ


def run_python(venv: Path, code: str, *, environ: dict[str, str], cwd: Path,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done
