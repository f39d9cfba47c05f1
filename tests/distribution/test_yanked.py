"""A version an index withdrew (``repo yank``) is never installed or used: not when it
was listed before the yank and downloaded after, not from a folder searched in
development mode, not as a fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError


@pytest.fixture
def listed(publisher: Publisher, server: IndexServer, home: Path) -> Any:
    """sample 1.0.0 installed from the index, 2.0.0 published after it."""
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "2.0.0"),
               "--key", publisher.repo_key) == 0
    return publisher


def _session() -> Any:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    return Session(Settings.from_env())


def _state(home: Path) -> dict[str, bytes]:
    files = [home / "installed.json", home / "trust.json", *sorted((home / "plugins").iterdir())]
    return {p.name: p.read_bytes() for p in files}


def test_a_version_yanked_after_it_was_listed_is_refused_at_download(
        listed: Publisher, home: Path) -> None:
    """The offer was chosen from a listing made before the yank; the download checks the
    index again and refuses it, changing nothing."""
    session = _session()
    offer = next(o for o in session.offers() if o.version == "2.0.0")
    assert not offer.yanked
    assert run("repo", "yank", listed.folder, "sample==2.0.0", "--key", listed.repo_key) == 0
    before = _state(home)
    with pytest.raises(IndexRefusedError, match="yanked") as info:
        _session().install_offer(offer, deps=False)
    assert info.value.threat == "yanked"  # type: ignore[attr-defined]
    assert _state(home) == before
    assert list((home / "indexes" / "spool").iterdir()) == []


def test_a_yanked_version_in_a_searched_folder_is_never_chosen(
        listed: Publisher, home: Path) -> None:
    """Development mode searches a folder holding the yanked 2.0.0 (same name, newer):
    the installed 1.0.0 is used, and ``doctor`` says why 2.0.0 is not."""
    from dataclasses import replace

    from pepperpy.plugins.doctor import diagnose
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.settings import Settings

    assert run("repo", "yank", listed.folder, "sample==2.0.0", "--key", listed.repo_key) == 0
    _session().offers()  # the client's refresh records the yank
    folder = listed.bundles
    settings = replace(Settings.from_env(), dev_mode=True, plugin_path=(folder,),
                       checkout_plugins=False)
    chosen = PluginManager(settings).choose("llm", "sample")
    assert chosen is not None and chosen.manifest.version == "1.0.0"
    rows = {(r.source, r.version): r for r in diagnose(PluginManager(settings))}
    assert rows[("plugin-path", "2.0.0")].state == "yanked"
