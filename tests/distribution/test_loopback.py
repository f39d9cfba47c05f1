"""The main job's distribution step: publish, serve on loopback, install every plugin by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy.settings import Settings


def test_publish_serve_and_install_by_name_then_nothing_the_second_time(
        signed_plugins, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy.plugins.manager import PluginManager
    from tools.demo import install_from_loopback_index

    home = tmp_path / "home"
    signed_plugins.factory.trust(home)
    key, _ = signed_plugins.factory.write_keys(tmp_path / "keys")
    bundles = sorted(signed_plugins.folder.glob("*.pepperplugin"))
    settings = Settings(home=home, auto_install=False, checkout_plugins=True)

    after = install_from_loopback_index(bundles, key, settings)
    first = capsys.readouterr().out
    assert after.checkout_plugins is False
    assert first.count(": installed ") == len(bundles)
    installed = sorted(p.name for p in (home / "plugins").iterdir())
    assert installed == sorted(f"{b.name.rsplit('-', 1)[0]}.pepperplugin" for b in bundles)

    install_from_loopback_index(bundles, key, settings)
    second = capsys.readouterr().out
    assert second.count(": unchanged ") == len(bundles)
    assert "downloading" not in second
    assert f"0 bundle(s) published, {len(bundles)} already there" in second

    loaded = PluginManager(after).resolve("storage", "sqlite")
    assert loaded is not None and str(home / "plugins") in loaded.origin
