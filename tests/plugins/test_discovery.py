"""Discovery order, the index cache, and checkout detection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pepperpy.core import PepperpyError
from pepperpy.plugins.discovery import checkout_dist_plugins, discover
from pepperpy.settings import Settings


def test_installed_plugins_are_the_only_candidates_unless_development_mode_is_on(env):
    pub = env.publisher()
    data = env.bundle(pub)
    env.write(env.settings.plugins_dir, "echo.pepperplugin", data)
    env.write(env.tmp / "p1", "a.pepperplugin", data)
    off = env.with_settings(plugin_path=(env.tmp / "p1",)).settings
    assert [(f.source, Path(f.path).name) for f in discover(off)] == [
        ("installed", "echo.pepperplugin")]
    on = env.with_settings(dev_mode=True, plugin_path=(env.tmp / "p1",)).settings
    assert [(f.source, Path(f.path).name) for f in discover(on)] == [
        ("installed", "echo.pepperplugin"), ("plugin-path", "a.pepperplugin")]
    assert Settings.from_env({"PEPPERPY_PLUGIN_PATH": "/x"}).dev_mode is False
    assert Settings.from_env({"PEPPERPY_DEV": "1"}).dev_mode is True


def test_a_planted_ancestor_checkout_is_never_a_plugin_source(env, monkeypatch):
    """A ``pyproject.toml`` naming pepperpy and a ``dist_plugins/`` planted above the
    working folder (a shared temp folder) offer nothing, even in development mode: the
    checkout is only the one this PepperPy runs from."""
    pub = env.publisher()
    planted = env.tmp / "shared"
    (planted / "work" / "deep").mkdir(parents=True)
    (planted / "pyproject.toml").write_text('[project]\nname = "pepperplug"\n')
    env.write(planted / "dist_plugins", "evil.pepperplugin", env.bundle(pub))
    monkeypatch.chdir(planted / "work" / "deep")
    settings = env.with_settings(dev_mode=True, checkout_plugins=True).settings
    assert [f.path for f in discover(settings) if "evil" in f.path] == []
    # Not found, or refused naming only this checkout's own dist_plugins/ (after `make
    # demo` they hold bundles of the demo's key): never loaded from the planted folder.
    with pytest.raises(PepperpyError) as caught:
        env.with_settings(dev_mode=True, checkout_plugins=True).registry().load("llm", "echo")
    assert str(planted) not in str(caught.value)


def test_checkout_detection_needs_the_pepperpy_project(tmp_path):
    (tmp_path / "dist_plugins").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    assert checkout_dist_plugins(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pepperplug"\n')
    assert checkout_dist_plugins(tmp_path) == (tmp_path / "dist_plugins").resolve()


def test_index_cache_is_reused_and_a_changed_file_is_reread(env):
    pub = env.publisher()
    folder = env.tmp / "p"
    path = env.write(folder, "echo.pepperplugin", env.bundle(pub, version="1.0.0"))
    settings = env.with_settings(dev_mode=True, plugin_path=(folder,)).settings
    assert [f.version for f in discover(settings)] == ["1.0.0"]
    index = settings.cache_dir / "index.json"
    data = json.loads(index.read_text())
    # Poison the cached summary: an unchanged file identity means the cache is used...
    data["entries"][str(path)]["version"] = "7.7.7"
    index.write_text(json.dumps(data))
    assert [f.version for f in discover(settings)] == ["7.7.7"]
    # ...and any change of the file (new inode/size/mtime) makes it re-read.
    tmp = folder / "new.tmp"
    tmp.write_bytes(env.bundle(pub, version="2.0.0"))
    os.replace(tmp, path)
    assert [f.version for f in discover(settings)] == ["2.0.0"]


def test_cached_summary_is_never_trusted_for_loading(env):
    pub = env.publisher()
    folder = env.tmp / "p"
    env.write(folder, "echo.pepperplugin", env.bundle(pub, version="1.0.0"))
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    discover(env.settings)
    index = env.settings.cache_dir / "index.json"
    data = json.loads(index.read_text())
    for entry in data["entries"].values():
        entry["provider_name"] = "other"
    index.write_text(json.dumps(data))
    # The listing believes the cache, but loading verifies the real bytes.
    import pytest

    from pepperpy.core import BundleInvalidError

    with pytest.raises(BundleInvalidError, match="changed while it was being read"):
        env.registry().create("llm", "other", {"api_key": "k"})
    assert env.marker_lines() == []


def test_corrupt_index_is_ignored(env):
    folder = env.tmp / "p"
    env.write(folder, "echo.pepperplugin", env.bundle(env.publisher()))
    settings = env.with_settings(dev_mode=True, plugin_path=(folder,)).settings
    settings.cache_dir.mkdir(parents=True)
    (settings.cache_dir / "index.json").write_text("{not json")
    assert [f.name for f in discover(settings)] == ["echo"]


def test_fifo_in_a_plugin_folder_does_not_hang_discovery(env):
    """A FIFO named *.pepperplugin (or a symlink to one) in a searched folder must not
    block discovery: it is refused before any read and listed as a broken bundle."""
    import threading

    shared = env.tmp / "shared"
    shared.mkdir()
    os.mkfifo(shared / "evil.pepperplugin")
    os.symlink(shared / "evil.pepperplugin", shared / "link.pepperplugin")
    settings = env.with_settings(dev_mode=True, plugin_path=(shared,)).settings
    result: list = []
    done = threading.Event()

    def run() -> None:
        result.extend(discover(settings))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    finished = done.wait(5)
    if not finished:  # unblock the stuck open() so the daemon thread can exit
        fd = os.open(shared / "evil.pepperplugin", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert finished, "discover() blocked on a FIFO"
    assert [Path(f.path).name for f in result] == ["evil.pepperplugin", "link.pepperplugin"]
    assert all("not a regular file (a FIFO)" in (f.problem or "") for f in result)

    from pepperpy.plugins.doctor import diagnose

    rows = diagnose(env.with_settings(dev_mode=True, plugin_path=(shared,)).manager())
    assert {r.state for r in rows} == {"invalid"}
