"""What each release wheel carries: the runtime has no test, authoring, publishing or demo
code, each wheel ships exactly its project's import package, and the three agree on
one version."""

from __future__ import annotations

import configparser
import re
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from dists import IMPORT_PACKAGES, PROJECTS, RUNTIME, VERSION, project  # noqa: E402

# What an application never needs: any of it in the runtime wheel is a defect.
NOT_RUNTIME = re.compile(
    r"testing|conformance|wire|fake|tamper|scaffold|template|lint|demo|loopback|"
    r"repository|signer|keygen|cli/(author|build|repo)\.py|pepperpy_dev|pepperpy_testing"
)


def _wheel(release: dict[str, Path], dist: str) -> Path:
    return release[f"{dist.replace('-', '_')}-{VERSION}-py3-none-any.whl"]


def _files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return [n for n in zf.namelist() if ".dist-info/" not in n]


def _metadata(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(f".dist-info/{name}"))
                       ).decode()


def _entry_points(wheel: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_metadata(wheel, "entry_points.txt"))
    return {s: dict(parser[s]) for s in parser.sections()}


def _requires(wheel: Path) -> list[str]:
    return [line.split(": ", 1)[1] for line in _metadata(wheel, "METADATA").splitlines()
            if line.startswith("Requires-Dist: ")]


def test_the_runtime_wheel_carries_no_test_authoring_publishing_or_demo_module(
    release: dict[str, Path],
) -> None:
    files = _files(_wheel(release, RUNTIME))
    assert "pepperpy/__init__.py" in files and "pepperpy/schemas/plugin.schema.json" in files
    assert [f for f in files if NOT_RUNTIME.search(f)] == []


@pytest.mark.parametrize("dist", list(PROJECTS))
def test_each_wheel_ships_exactly_its_import_package(release: dict[str, Path],
                                                     dist: str) -> None:
    package = PROJECTS[dist] / IMPORT_PACKAGES[dist]
    expected = sorted(p.relative_to(package.parent).as_posix() for p in package.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(_files(_wheel(release, dist))) == expected


@pytest.mark.parametrize("dist", list(PROJECTS))
def test_each_wheel_declares_its_own_commands_from_its_own_package(
    release: dict[str, Path], dist: str,
) -> None:
    commands = _entry_points(_wheel(release, dist))["pepperpy.commands"]
    assert commands == project(dist)["entry-points"]["pepperpy.commands"]
    assert {v.split(".")[0] for v in commands.values()} == {IMPORT_PACKAGES[dist]}


def test_the_distributions_share_one_version_and_pin_the_runtime(
    release: dict[str, Path],
) -> None:
    for dist in PROJECTS:
        if dist != RUNTIME:
            assert project(dist)["version"] == VERSION
            assert f"{RUNTIME}=={VERSION}" in _requires(_wheel(release, dist))
    pinned = tomllib.loads((PROJECTS["pepperplug-dev"] / "pyproject.toml").read_text())
    assert f"pepperplug-testing=={VERSION}" in pinned["project"]["dependencies"]


def test_the_runtime_needs_no_pydantic_and_says_which_command_it_runs(
    release: dict[str, Path],
) -> None:
    runtime = _wheel(release, RUNTIME)
    requires = _requires(runtime)
    assert not [r for r in requires if r.startswith("pydantic") and "extra ==" not in r]
    assert [r for r in requires if r.startswith("pydantic") and 'extra == "structured"' in r]
    assert _entry_points(runtime)["console_scripts"] == {"pepperpy": "pepperpy.cli:main"}


def test_the_index_site_holds_every_first_party_plugin_and_no_private_key(
    release: dict[str, Path],
) -> None:
    out = release["index"].parent
    targets = sorted(p.name.split(".", 1)[1] for p in (release["index"] / "targets").iterdir())
    plugins = sorted(p.name for p in (out / "plugins").iterdir())
    assert targets == plugins and len(plugins) == len(list(ROOT.glob("plugin_src/*/plugin.json")))
    assert release["root"].is_file() and release["publisher"].is_file()
    everything = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in everything if b"PRIVATE KEY" in p.read_bytes()[:4096]]
    assert not [p for p in everything if p.name.startswith(".")]
