"""The three distributions this repository releases, and how each is built.

One repository, three audiences, three project folders:

* ``pepperplug`` (``.``, import package ``pepperpy``): what an application needs at run
  time: interfaces, the fluent API, bundle verification and the trust store, loading,
  dependency installs, the index client, reliability, and the runtime commands
  ``plugin install|list|remove|verify|inspect|search|update``, ``trust``, ``index``,
  ``chat``, ``rag``, ``models``;
* ``pepperplug-dev`` (``packages/pepperplug-dev``, ``pepperpy_dev``): what plugin authors
  and index publishers need: ``plugin new``, ``plugin lint``, ``plugin build``,
  ``keygen``, ``repo ...``;
* ``pepperplug-testing`` (``packages/pepperplug-testing``, ``pepperpy_testing``): the
  conformance suites (``plugin test``), the wire servers, the fake providers and the
  bundle factory with its tamper kit.

The names ``pepperpy``, ``pepperpy-ai`` and ``pepperpy-core`` on the public package index
belong to another project; the runtime's import package stays ``pepperpy``. The demo
(``tools/demo.py``) belongs to none of them.

Each project is built with setuptools' PEP 517 hooks in a subprocess, without network
access (``make setup-test`` installs setuptools), into ``--out``.

usage: python tools/dists.py [--out DIR]     (``make dist`` runs it)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNTIME, DEV, TESTING = "pepperplug", "pepperplug-dev", "pepperplug-testing"
PROJECTS = {
    RUNTIME: ROOT,
    DEV: ROOT / "packages" / DEV,
    TESTING: ROOT / "packages" / TESTING,
}
IMPORT_PACKAGES = {RUNTIME: "pepperpy", DEV: "pepperpy_dev", TESTING: "pepperpy_testing"}


def _version(root: Path = ROOT) -> str:
    text = (root / "pepperpy" / "_version.py").read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', text)
    if found is None:
        raise SystemExit("pepperpy/_version.py has no __version__")
    return found.group(1)


VERSION = _version()


def project(dist: str) -> dict:  # type: ignore[type-arg]
    """The ``[project]`` table of a distribution's ``pyproject.toml``."""
    text = (PROJECTS[dist] / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["project"]  # type: ignore[no-any-return]


_HOOKS = """
import sys
from setuptools import build_meta as backend
out = sys.argv[1]
built = [backend.build_sdist(out), backend.build_wheel(out)]
print("BUILT", *built)
"""


def build(dist: str, out: Path) -> list[Path]:
    """Build ``dist``'s sdist and wheel into ``out``; returns their paths.

    The project folder is copied first (only its sources and project files), so a build
    leaves nothing behind in the checkout and sees no stale ``build/`` or egg-info.
    """
    out.mkdir(parents=True, exist_ok=True)
    source = PROJECTS[dist]
    with tempfile.TemporaryDirectory(prefix=f"{dist}-") as tmp:
        staged = Path(tmp)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(source / name, staged / name)
        package = IMPORT_PACKAGES[dist]
        shutil.copytree(source / package, staged / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        done = subprocess.run([sys.executable, "-c", _HOOKS, str(out.resolve())],
                              cwd=staged, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"building {dist} failed:\n{done.stderr[-3000:]}")
    names = done.stdout.strip().splitlines()[-1].split()[1:]
    return [out / name for name in names]


def build_all(out: Path) -> list[Path]:
    return [path for dist in PROJECTS for path in build(dist, out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    args = parser.parse_args(argv)
    for path in build_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
