"""Shared fixtures: the repo's plugins, built and signed the way users get them.

``signed_plugins`` builds every ``plugin_src/*`` folder once per test session into a
real signed ``.pepperplugin`` with a throwaway key. ``plugin_settings`` gives each
test a fresh ``PEPPERPY_HOME`` that trusts that key and finds those bundles through
``PEPPERPY_PLUGIN_PATH``. ``plugin_registry`` is the registry ``PepperPy`` would build
from those settings: providers come through the full pipeline (verify, pin, zipimport).
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
    from pepperpy.bundle.manifest import parse_manifest
    from pepperpy.testing_bundles import BundleFactory

    factory = BundleFactory(publisher="pepperpy-test")
    folder = tmp_path_factory.mktemp("signed-plugins")
    for src in sorted(p.parent for p in PLUGIN_SRC.glob("*/plugin.json")):
        manifest = parse_manifest((src / "plugin.json").read_bytes())
        target = folder / f"{manifest.name}-{manifest.version}.pepperplugin"
        target.write_bytes(factory.build_folder(src))
    return SignedPlugins(folder, factory)


@pytest.fixture
def plugin_settings(tmp_path: Path, signed_plugins: SignedPlugins):
    from pepperpy.settings import Settings

    home = tmp_path / "pepperpy-home"
    signed_plugins.factory.trust(home)  # type: ignore[attr-defined]
    return Settings(
        home=home,
        plugin_path=(signed_plugins.folder,),
        auto_install=False,
        checkout_plugins=False,
    )


@pytest.fixture
def plugin_registry(plugin_settings):
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.registry import ProviderRegistry

    return ProviderRegistry(resolver=PluginManager(plugin_settings))
