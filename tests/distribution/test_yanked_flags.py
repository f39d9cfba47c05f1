"""An installed version that its index yanked is flagged by `plugin list` and `plugin
outdated` with the publisher's reason and the command that moves off it; `search --json`
and the install refusal carry the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _index(publisher: Publisher, server: IndexServer, *versions: str) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    bundles = [publisher.bundle("sample", v) for v in versions]
    assert run("repo", "add", publisher.folder, *bundles, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def _yank(publisher: Publisher, spec: str, reason: str) -> None:
    assert run("repo", "yank", publisher.folder, spec, "--key", publisher.repo_key,
               "--reason", reason) == 0


def test_a_yanked_install_is_flagged_with_the_reason_and_an_upgrade(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _index(publisher, server, "1.0.0")
    assert run("plugin", "install", "sample") == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.1"),
               "--key", publisher.repo_key) == 0
    _yank(publisher, "sample==1.0.0", "CVE-2026-0001: leaks prompts")
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [{
        "name": "sample", "installed": "1.0.0", "latest": "1.0.1", "index": "main",
        "yanked": True, "yanked_reason": "CVE-2026-0001: leaks prompts",
        "fix": "pepperpy plugin update sample"}]
    assert run("plugin", "list") == 0
    out = capsys.readouterr().out
    assert "YANKED by index main: CVE-2026-0001: leaks prompts" in out
    assert "fix: pepperpy plugin update sample" in out
    assert run("plugin", "search", "sample", "--json") == 0
    rows = {r["version"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["1.0.0"]["yanked_reason"] == "CVE-2026-0001: leaks prompts"
    assert run("plugin", "install", "sample==1.0.0", "--force") == 1
    assert "withdrew it: CVE-2026-0001: leaks prompts" in capsys.readouterr().err
    assert run("plugin", "update", "sample") == 0
    capsys.readouterr()
    assert run("plugin", "list", "--json") == 0
    assert [r["yanked"] for r in json.loads(capsys.readouterr().out)] == [None]


def test_when_only_an_older_version_is_left_the_fix_names_allow_downgrade(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _index(publisher, server, "1.0.0", "2.0.0")
    assert run("plugin", "install", "sample") == 0
    _yank(publisher, "sample==2.0.0", "broken build")
    capsys.readouterr()
    assert run("plugin", "outdated") == 0
    out = capsys.readouterr().out
    assert "sample 2.0.0 YANKED by index main: broken build" in out
    assert "fix: pepperpy plugin install sample==1.0.0 --allow-downgrade" in out
    assert run("plugin", "update") == 0  # a yank alone never downgrades by itself
    assert "everything is up to date" in capsys.readouterr().out
    assert run("plugin", "install", "sample==1.0.0", "--allow-downgrade") == 0
