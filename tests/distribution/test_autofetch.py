"""Transparent use: ``PepperPy().with_llm("anthropic")`` installs from an index on first
use when ``PEPPERPY_AUTO_FETCH=1``, and names the command to run when it is off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy import PepperPy
from pepperpy.core import PluginNotFoundError


@pytest.fixture
def anthropic_index(publisher: Publisher, server: IndexServer, home: Path,
                    signed_plugins) -> Path:
    """An index offering the repository's real anthropic plugin; its publisher trusted."""
    signed_plugins.factory.trust(home)
    bundle = next(signed_plugins.folder.glob("llm_anthropic_provider-*.pepperplugin"))
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    return bundle


def test_off_by_default_and_the_error_names_the_command(anthropic_index: Path,
                                                        home: Path) -> None:
    with pytest.raises(PluginNotFoundError) as info:
        PepperPy().with_llm("anthropic", api_key="sk-test", model="claude-test")
    assert "pepperpy plugin install llm_anthropic_provider" in str(info.value)
    assert "PEPPERPY_AUTO_FETCH=1" in str(info.value)
    assert not (home / "installed.json").exists()


def test_auto_fetch_installs_on_first_use_and_says_so(
        anthropic_index: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PEPPERPY_AUTO_FETCH", "1")
    pepper = PepperPy().with_llm("anthropic", api_key="sk-test", model="claude-test")
    assert type(pepper._providers["llm"]).__name__.lower().startswith("anthropic")
    err = capsys.readouterr().err
    assert "installing llm_anthropic_provider" in err and "from index 'main'" in err
    state = json.loads((home / "installed.json").read_bytes())
    assert list(state["plugins"]) == ["llm_anthropic_provider"]
    # Second use in a new process state: already installed, no fetch, nothing said.
    PepperPy().with_llm("anthropic", api_key="sk-test", model="claude-test")
    assert "installing" not in capsys.readouterr().err


def test_auto_fetch_of_a_provider_no_index_offers(anthropic_index: Path, home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEPPERPY_AUTO_FETCH", "1")
    with pytest.raises(PluginNotFoundError, match="no llm provider named 'nothing'"):
        PepperPy().with_llm("nothing")
    assert not (home / "installed.json").exists()
