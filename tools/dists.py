"""The three distributions this repository releases, and how each is built.

One source tree, three audiences:

* ``pepperplug``: what an application needs at run time (the import package
  ``pepperpy``: interfaces, the fluent API, bundle verification and the trust store,
  loading, dependency installs, the index client, reliability, and the runtime commands
  ``plugin install|list|remove|verify|inspect|search|update``, ``trust``, ``index``,
  ``chat``, ``rag``);
* ``pepperplug-dev``: what plugin authors and index publishers need (``plugin new``,
  ``plugin lint``, ``plugin build``, ``keygen``, ``repo ...``);
* ``pepperplug-testing``: the conformance suites, the wire servers, the fake providers
  and the bundle factory with its tamper kit (``plugin test``).

The names ``pepperpy``, ``pepperpy-ai`` and ``pepperpy-core`` on the public package index
belong to another project; the import package stays ``pepperpy``.

The demo (``make demo``) belongs to none of them. :data:`DISTRIBUTIONS` says which files
each wheel carries; a test checks the built wheels against it. Each distribution is staged
into ``build/dists/<name>/`` (its files, a generated ``pyproject.toml``) and built there
with setuptools' PEP 517 hooks, in a subprocess and without network access, so the
sdist of each is self-contained and rebuilds the same wheel.

usage: python tools/dists.py [--out DIR]     (``make dist`` runs it)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNTIME, DEV, TESTING = "pepperplug", "pepperplug-dev", "pepperplug-testing"

# Files no distribution carries: the demo runs from a source checkout only.
DEMO_FILES = (
    "pepperpy/demo.py",
    "pepperpy/cli/demo.py",
    "pepperpy/distribution/loopback.py",
)
DEV_FILES = (
    "pepperpy/scaffold/**/*.py",
    "pepperpy/cli/author.py",
    "pepperpy/cli/build.py",
    "pepperpy/cli/keygen.py",
    "pepperpy/cli/repo.py",
    "pepperpy/distribution/repository.py",
    "pepperpy/distribution/signer.py",
)
TESTING_FILES = (
    "pepperpy/testing/**/*.py",
    "pepperpy/testing_bundles.py",
    "pepperpy/cli/conformance.py",
)
RUNTIME_FILES = ("pepperpy/**/*.py", "pepperpy/py.typed", "pepperpy/schemas/*.json")


@dataclass(frozen=True)
class Distribution:
    """One distribution: its files (globs under the checkout) and its metadata."""

    name: str
    summary: str
    files: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # `pepperpy` command groups: entry point name -> "module:function" (see pepperpy/cli)
    commands: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)

    def sources(self, root: Path = ROOT) -> list[str]:
        """The files this distribution ships, relative to ``root``, sorted."""
        excluded = {p for pattern in self.exclude for p in root.glob(pattern)}
        chosen = {p for pattern in self.files for p in root.glob(pattern) if p.is_file()}
        return sorted(p.relative_to(root).as_posix() for p in chosen - excluded
                      if "__pycache__" not in p.parts)


def _version(root: Path = ROOT) -> str:
    text = (root / "pepperpy" / "_version.py").read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', text)
    if found is None:
        raise SystemExit("pepperpy/_version.py has no __version__")
    return found.group(1)


VERSION = _version()
# The checkout's project file lists the runtime's dependencies (one place for them).
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

DISTRIBUTIONS: dict[str, Distribution] = {
    RUNTIME: Distribution(
        RUNTIME,
        "PepperPy: a small, fast LLM framework whose providers are signed plugins.",
        RUNTIME_FILES,
        exclude=(*DEMO_FILES, *DEV_FILES, *TESTING_FILES),
        dependencies=tuple(_PROJECT["dependencies"]),
        extras={"structured": tuple(_PROJECT["optional-dependencies"]["structured"])},
        commands={
            "trust": "pepperpy.cli.trust:register",
            "index": "pepperpy.cli.index:register",
            "chat": "pepperpy.cli.chat:register",
            "models": "pepperpy.cli.models:register",
            "rag": "pepperpy.cli.rag:register",
            "plugin.manage": "pepperpy.cli.manage:add_plugin_commands",
            "plugin.check": "pepperpy.cli.bundle:add_plugin_commands",
            "plugin.index": "pepperpy.cli.index:add_plugin_commands",
        },
        scripts={"pepperpy": "pepperpy.cli:main"},
    ),
    DEV: Distribution(
        DEV,
        "PepperPy for plugin authors and index publishers: new, lint, build, keygen, repo.",
        DEV_FILES,
        dependencies=(f"{RUNTIME}=={VERSION}", f"{TESTING}=={VERSION}"),
        commands={
            "keygen": "pepperpy.cli.keygen:register",
            "repo": "pepperpy.cli.repo:register",
            "plugin.author": "pepperpy.cli.author:add_plugin_commands",
            "plugin.build": "pepperpy.cli.build:add_plugin_commands",
        },
    ),
    TESTING: Distribution(
        TESTING,
        "PepperPy's test kit: conformance suites, wire servers, fakes, signed-bundle factory.",
        TESTING_FILES,
        dependencies=(f"{RUNTIME}=={VERSION}",),
        commands={"plugin.test": "pepperpy.cli.conformance:add_plugin_commands"},
    ),
}


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def pyproject(dist: Distribution) -> str:
    """The ``pyproject.toml`` a distribution is built with."""
    lines = [
        "[build-system]",
        'requires = ["setuptools>=77"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {json.dumps(dist.name)}",
        f"version = {json.dumps(VERSION)}",
        f"description = {json.dumps(dist.summary)}",
        'readme = "README.md"',
        'requires-python = ">=3.11"',
        'license = "MIT"',
        f"dependencies = {_toml_list(dist.dependencies)}",
    ]
    if dist.extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{k} = {_toml_list(v)}" for k, v in sorted(dist.extras.items())]
    if dist.scripts:
        lines += ["", "[project.scripts]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in sorted(dist.scripts.items())]
    if dist.commands:
        lines += ["", '[project.entry-points."pepperpy.commands"]']
        lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(dist.commands.items())]
    packages = sorted({str(Path(f).parent).replace("/", ".") for f in dist.sources()})
    lines += ["", "[tool.setuptools]", f"packages = {_toml_list(packages)}"]
    data = [f for f in dist.sources() if not f.endswith(".py")]
    if data:
        by_package: dict[str, list[str]] = {}
        for f in data:
            by_package.setdefault(str(Path(f).parent).replace("/", "."), []).append(Path(f).name)
        lines += ["", "[tool.setuptools.package-data]"]
        lines += [f"{json.dumps(k)} = {_toml_list(v)}" for k, v in sorted(by_package.items())]
    return "\n".join(lines) + "\n"


def readme(dist: Distribution) -> str:
    """The project page text: the checkout's README for the runtime, a pointer otherwise."""
    if dist.name == RUNTIME:
        return (ROOT / "README.md").read_text(encoding="utf-8")
    return (f"# {dist.name}\n\n{dist.summary}\n\nPart of PepperPy (import package "
            f"`pepperpy`); install it next to `{RUNTIME}`. See the PepperPy README.\n")


def stage(dist: Distribution, folder: Path) -> Path:
    """Copy the distribution's files and write its project files into ``folder``."""
    if folder.exists():
        shutil.rmtree(folder)
    for rel in dist.sources():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    (folder / "pyproject.toml").write_text(pyproject(dist), encoding="utf-8")
    (folder / "README.md").write_text(readme(dist), encoding="utf-8")
    (folder / "LICENSE").write_text("MIT License\n", encoding="utf-8")
    return folder


_HOOKS = """
import sys
import tomllib
from setuptools import build_meta as backend
out = sys.argv[1]
built = [backend.build_sdist(out), backend.build_wheel(out)]
print("BUILT", *built)
"""


def build(dist: Distribution, out: Path, *, workdir: Path | None = None) -> list[Path]:
    """Build ``dist``'s sdist and wheel into ``out``; returns their paths."""
    staged = stage(dist, (workdir or ROOT / "build" / "dists") / dist.name)
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", _HOOKS, str(out.resolve())], cwd=staged,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"building {dist.name} failed:\n{done.stderr[-3000:]}")
    names = done.stdout.strip().splitlines()[-1].split()[1:]
    return [out / name for name in names]


def build_all(out: Path, *, workdir: Path | None = None) -> list[Path]:
    return [path for dist in DISTRIBUTIONS.values() for path in build(dist, out,
                                                                     workdir=workdir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    args = parser.parse_args(argv)
    for path in build_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
