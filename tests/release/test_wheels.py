"""What each release wheel carries: the runtime has no test, authoring, publishing or demo
code, and the three together ship the whole checkout package exactly once."""

from __future__ import annotations

import configparser
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from dists import DEMO_FILES, DISTRIBUTIONS, RUNTIME, VERSION  # noqa: E402

# Modules an application never needs; any of them in the runtime wheel is a defect.
NOT_RUNTIME = (
    "pepperpy/testing/",  # conformance suites, wire servers, fakes
    "pepperpy/testing_bundles.py",  # the bundle factory and tamper kit
    "pepperpy/scaffold/",  # plugin new / lint
    "pepperpy/demo.py", "pepperpy/cli/demo.py", "pepperpy/distribution/loopback.py",
    "pepperpy/distribution/repository.py", "pepperpy/distribution/signer.py",  # repo ...
    "pepperpy/cli/repo.py", "pepperpy/cli/keygen.py", "pepperpy/cli/author.py",
    "pepperpy/cli/build.py", "pepperpy/cli/conformance.py",
)


def _wheel(release: dict[str, Path], dist: str) -> Path:
    name = f"{dist.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    return release[name]


def _files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return [n for n in zf.namelist() if ".dist-info/" not in n]


def _entry_points(wheel: Path) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(zf.read(name).decode())
    return {s: dict(parser[s]) for s in parser.sections()}


def test_the_runtime_wheel_carries_no_test_authoring_publishing_or_demo_module(
    release: dict[str, Path],
) -> None:
    files = _files(_wheel(release, RUNTIME))
    assert "pepperpy/__init__.py" in files and "pepperpy/schemas/plugin.schema.json" in files
    found = [f for f in files if f.startswith(NOT_RUNTIME)]
    assert found == []


@pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
def test_each_wheel_ships_exactly_its_configured_files(release: dict[str, Path],
                                                       dist: str) -> None:
    assert sorted(_files(_wheel(release, dist))) == DISTRIBUTIONS[dist].sources()


def test_the_three_wheels_ship_the_package_once_and_only_the_demo_stays_behind(
    release: dict[str, Path],
) -> None:
    shipped = [f for dist in DISTRIBUTIONS for f in _files(_wheel(release, dist))]
    assert len(shipped) == len(set(shipped))
    checkout = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pepperpy").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert checkout - set(shipped) == set(DEMO_FILES)


def test_each_wheel_declares_its_own_commands_and_the_checkout_all_of_them(
    release: dict[str, Path],
) -> None:
    declared: dict[str, str] = {}
    for dist in DISTRIBUTIONS:
        commands = _entry_points(_wheel(release, dist)).get("pepperpy.commands", {})
        assert commands == DISTRIBUTIONS[dist].commands
        declared.update(commands)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    checkout = project["entry-points"]["pepperpy.commands"]
    assert {k: v for k, v in checkout.items() if k != "demo"} == declared
    assert _entry_points(_wheel(release, RUNTIME))["console_scripts"] == {
        "pepperpy": "pepperpy.cli:main"}


def test_the_runtime_needs_no_pydantic_and_the_others_pin_the_runtime(
    release: dict[str, Path],
) -> None:
    def requires(dist: str) -> list[str]:
        with zipfile.ZipFile(_wheel(release, dist)) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            lines = zf.read(meta).decode().splitlines()
        return [line.split(": ", 1)[1] for line in lines if line.startswith("Requires-Dist")]

    runtime = requires(RUNTIME)
    assert not any(r.startswith("pydantic") and "extra ==" not in r for r in runtime)
    assert any(r.startswith("pydantic") and 'extra == "structured"' in r for r in runtime)
    for dist in DISTRIBUTIONS:
        if dist != RUNTIME:
            assert f"{RUNTIME}=={VERSION}" in requires(dist)


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
