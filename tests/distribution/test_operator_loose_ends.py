"""What an operator meets after a command fails or only reads: the message says what
state the machine is in, and the filesystem is left as the command found it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _serve(publisher: Publisher, server: IndexServer, *bundles: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for bundle in bundles:
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def _no_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv may look only in an empty folder: a dependency cannot be installed."""
    (tmp_path / "no-wheels").mkdir()
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")
    monkeypatch.setenv("PEPPERPY_FIND_LINKS", str(tmp_path / "no-wheels"))


@pytest.mark.parametrize("by", ["file", "name"])
def test_an_install_whose_dependencies_fail_says_the_bundle_went_in_and_both_ways_on(
        by: str, publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = publisher.bundle("sample", "1.0.0", dependencies=["pepperpy-surely-absent>=5"])
    _serve(publisher, server, bundle)
    _no_wheels(tmp_path, monkeypatch)
    capsys.readouterr()
    assert run("plugin", "install", bundle if by == "file" else "sample") == 1
    err = capsys.readouterr().err
    installed = home / "plugins" / "sample.pepperplugin"
    assert f"the bundle is installed (sample 1.0.0 -> {installed}) but its dependencies are " \
        "not, so it will not load until they are: " in err, err
    assert "pepperpy-surely-absent" in err and "pepperpy plugin deps sample" in err
    assert err.rstrip().endswith("take the bundle out again with "
                                 "`pepperpy plugin remove sample`"), err
    assert json.loads((home / "installed.json").read_bytes())["plugins"]["sample"]
    assert installed.is_file()  # what the message says is true
    assert run("plugin", "deps", "sample") == 1  # the cause is not fixed yet
    assert run("plugin", "remove", "sample") == 0  # the other way on works as printed
    assert not installed.exists()
