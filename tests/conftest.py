"""Shared fixtures: the repo's plugins, built and signed the way users get them.

``signed_plugins`` builds every ``plugin_src/*`` folder once per test session into a
real signed ``.pepperplugin`` with a throwaway key. ``plugin_settings`` gives each
test a fresh ``PEPPERPY_HOME`` that trusts that key and finds those bundles through
``PEPPERPY_PLUGIN_PATH``. ``plugin_registry`` is the registry ``PepperPy`` would build
from those settings: providers come through the full pipeline (verify, then import from
the verified bytes).
Dependencies are never installed here (auto-install off): the test environment has
them, and a missing one must fail loudly, not be fetched silently.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SRC = ROOT / "plugin_src"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class SignedPlugins:
    folder: Path
    factory: object  # pepperpy.testing_bundles.BundleFactory


@pytest.fixture(scope="session")
def signed_plugins(tmp_path_factory: pytest.TempPathFactory) -> SignedPlugins:
    from pepperpy.testing_bundles import BundleFactory
    from pepperpy.trust.manifest import parse_manifest

    factory = BundleFactory(publisher="pepperpy-test")
    folder = tmp_path_factory.mktemp("signed-plugins")
    for src in sorted(p.parent for p in PLUGIN_SRC.glob("*/plugin.json")):
        manifest = parse_manifest((src / "plugin.json").read_bytes())
        target = folder / f"{manifest.name}-{manifest.version}.pepperplugin"
        target.write_bytes(factory.build_folder(src))
    return SignedPlugins(folder, factory)


def _settings_for(home: Path, signed: SignedPlugins):
    from pepperpy.settings import Settings

    signed.factory.trust(home)  # type: ignore[attr-defined]
    # The repo's plugins are built into a folder, not installed: a development setup, so
    # development mode is switched on explicitly (PEPPERPY_DEV=1 in child processes).
    return Settings(home=home, plugin_path=(signed.folder,), auto_install=False,
                    checkout_plugins=False, dev_mode=True)


@pytest.fixture
def plugin_settings(tmp_path: Path, signed_plugins: SignedPlugins):
    """A fresh home per test that trusts the signed repo plugins."""
    return _settings_for(tmp_path / "pepperpy-home", signed_plugins)


@pytest.fixture(scope="session")
def session_plugin_settings(tmp_path_factory: pytest.TempPathFactory, signed_plugins):
    """One home for the whole session (cheaper when many tests load the same plugins)."""
    return _settings_for(tmp_path_factory.mktemp("pepperpy-home"), signed_plugins)


@pytest.fixture(scope="session")
def session_plugin_registry(session_plugin_settings):
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.registry import ProviderRegistry

    return ProviderRegistry(resolver=PluginManager(session_plugin_settings))


@pytest.fixture
def plugin_env(session_plugin_settings) -> dict[str, str]:
    """Environment variables that make a child process load the same signed plugins."""
    import os

    s = session_plugin_settings
    return {
        "PEPPERPY_HOME": str(s.home),
        "PEPPERPY_DEV": "1",
        "PEPPERPY_PLUGIN_PATH": os.pathsep.join(str(p) for p in s.plugin_path),
        "PEPPERPY_AUTO_INSTALL": "0",
        "PEPPERPY_CHECKOUT_PLUGINS": "0",
    }


@pytest.fixture
def plugin_registry(plugin_settings):
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.registry import ProviderRegistry

    return ProviderRegistry(resolver=PluginManager(plugin_settings))
