"""One installed plugin per provider slot: installing a bundle of another name into a slot
an installed plugin holds is judged against that plugin (no rollback through a rename)
and replaces it, so an older release can never sit beside it as its fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy.core import InstallRefusedError, PluginLoadError
from pepperpy.plugins.install import install_bundle
from pepperpy.plugins.state import load_state


def _install(env, data: bytes, filename: str, **options) -> str:
    path = env.write(env.tmp / "downloads", filename, data)
    return install_bundle(path, settings=env.settings, **options).action


def _home_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*"))
            if p.is_file() and p.suffix != ".lock" and "cache" not in p.parts
            and p.name != "verified.json"}


def test_an_older_release_under_another_name_is_not_installed_into_a_held_slot(env):
    """echo 2.0.0 is installed (its import fails); the same publisher's echo_legacy 1.0.0
    claims llm/echo. Installing it is a rollback of the slot: refused without
    --allow-downgrade, nothing changes, and the load never falls back to it."""
    pub = env.publisher()
    assert _install(env, env.bundle(pub, version="2.0.0", tag="installed",
                                    import_module="pepperpy_no_such_module"),
                    "echo.pepperplugin") == "installed"
    before = _home_files(env.settings.home)
    legacy = env.bundle(pub, name="echo_legacy", version="1.0.0", tag="legacy")
    with pytest.raises(InstallRefusedError, match=r"older than the installed 2\.0\.0"):
        _install(env, legacy, "legacy.pepperplugin")
    assert _home_files(env.settings.home) == before
    with pytest.raises(PluginLoadError, match="pepperpy_no_such_module"):
        env.registry().load("llm", "echo")
    assert "legacy" not in env.marker_lines()
    # On purpose: the older release replaces the slot's plugin, never sits beside it.
    assert _install(env, legacy, "legacy.pepperplugin", allow_downgrade=True) == "downgraded"
    assert sorted(load_state(env.settings.state_file).plugins) == ["echo_legacy"]
    assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()


def test_a_newer_release_under_another_name_replaces_the_slot_holder(env):
    pub = env.publisher()
    _install(env, env.bundle(pub, version="1.0.0", tag="old"), "echo.pepperplugin")
    assert _install(env, env.bundle(pub, name="echo_renamed", version="2.0.0", tag="renamed"),
                    "renamed.pepperplugin") == "upgraded"
    assert sorted(load_state(env.settings.state_file).plugins) == ["echo_renamed"]
    assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()
    assert type(env.registry().create("llm", "echo", {"api_key": "k"})).version == "2.0.0"
    assert env.marker_lines() == ["renamed"]
