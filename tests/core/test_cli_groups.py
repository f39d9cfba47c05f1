"""`pepperpy --help` lists the installed command groups without ``importlib.metadata``
(``pepperpy.cli.groups_found``): the same groups, origins and text as
``importlib.metadata`` gives, and ``None`` (so the CLI asks it) wherever the two could
differ."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pepperpy.cli import ENTRY_POINT_GROUP, _origin, build_parser, installed_commands
from pepperpy.cli.groups_found import command_origins


def _by_importlib() -> dict[str, str]:
    return {name: _origin(eps) for name, eps in installed_commands().items()}


def _dist(where: Path, folder: str, entry_points: str | None, meta: str | None = None,
          meta_file: str = "METADATA") -> None:
    dist = where / folder
    dist.mkdir(parents=True)
    if entry_points is not None:
        (dist / "entry_points.txt").write_text(entry_points)
    if meta is not None:
        (dist / meta_file).write_text(f"Metadata-Version: 2.1\nName: {meta}\nVersion: 1\n\n"
                                      "Name: not-this-one\n")


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two site folders: shadowing by normalized name, several groups, an egg-info
    folder and file, comments and other sections; ``sys.path`` is them (and a folder
    that does not exist, and the current one)."""
    first, second = tmp_path / "site-a", tmp_path / "site-b"
    _dist(first, "acme_tools-1.0.dist-info",
          "# a comment\n[console_scripts]\nacme = acme:main\n\n[pepperpy.commands]\n"
          "zeta = acme.cli:register\n  alpha.x = acme.cli:extra  \n# another comment\n",
          "Acme-Tools")
    _dist(first, "Other.Pkg-2.0.dist-info", "[pepperpy.commands]\nalpha = other:register\n",
          "other.pkg")
    _dist(first, "nothing-1.0.dist-info", None, "nothing")
    (first / "plain.egg-info").write_text("Metadata-Version: 1.0\nName: plain\n")
    _dist(second, "ACME.tools-0.9.dist-info", "[pepperpy.commands]\nshadowed = old:register\n",
          "acme-tools")
    _dist(second, "legacy-1.0.egg-info", "[pepperpy.commands]\nlegacy = legacy:register\n",
          "legacy", meta_file="PKG-INFO")
    _dist(second, "spaced-1.0.dist-info", "[ pepperpy.commands ]\nspaced = s:register\n",
          "spaced")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second), ""])
    return [first, second]


def test_the_installed_groups_are_importlib_metadata_s() -> None:
    assert command_origins(ENTRY_POINT_GROUP) == _by_importlib()


def test_shadowing_sorting_and_parsing_are_importlib_metadata_s(paths: list[Path]) -> None:
    found = command_origins(ENTRY_POINT_GROUP)
    assert found == {"alpha": "commands from other.pkg", "zeta": "commands from Acme-Tools",
                     "legacy": "commands from legacy"}
    assert found == _by_importlib()


def test_the_top_level_help_is_the_same_either_way(paths: list[Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fast = build_parser(["--help"]).format_help()
    assert "alpha" in fast and "commands from Acme-Tools" in fast
    import pepperpy.cli.groups_found as groups_found

    monkeypatch.setattr(groups_found, "command_origins", lambda group: None)
    assert build_parser(["--help"]).format_help() == fast


class _Finder:
    @staticmethod
    def find_distributions(context: Any = None) -> list[Any]:
        return []


@pytest.mark.parametrize("case", ["zip-on-path", "egg-on-path", "another-finder",
                                  "unparsed-line", "no-name"])
def test_what_it_does_not_read_as_importlib_metadata_would_is_left_to_it(
        paths: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        case: str) -> None:
    if case == "zip-on-path":
        archive = tmp_path / "site.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("zipped-1.0.dist-info/entry_points.txt",
                       "[pepperpy.commands]\nzipped = z:register\n")
        sys.path.append(str(archive))
    elif case == "egg-on-path":
        egg = tmp_path / "thing-1.0.egg"
        _dist(egg, "EGG-INFO", "[pepperpy.commands]\negg = e:register\n")
        sys.path.append(str(egg))
    elif case == "another-finder":
        monkeypatch.setattr(sys, "meta_path", [_Finder, *sys.meta_path])
    elif case == "unparsed-line":
        _dist(paths[1], "broken-1.0.dist-info", "[pepperpy.commands]\nno equals sign\n",
              "broken")
    else:
        _dist(paths[1], "-1.0.dist-info", "[pepperpy.commands]\nnameless = n:register\n",
              "nameless")
    assert command_origins(ENTRY_POINT_GROUP) is None
