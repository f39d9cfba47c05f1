"""Load a plugin for testing exactly as users get it: signed, verified, zipimported.

A source folder is built with a throwaway key into a private ``PEPPERPY_HOME`` that
trusts only that key; a ``.pepperplugin`` file is verified against the operator's
trust store (copied into the private home). Either way the provider class comes
from the plugin manager, through verification, pinning and zipimport, and nothing is
written outside the private folder (except dependencies). With ``install_deps`` the
plugin's dependencies are installed with uv into the running Python, as a load with
auto-install does (what ``pepperpy plugin test`` does, after saying so); without it, a
missing one is a ``DependencyError``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pepperpy.core import BaseProvider, ConfigurationError
from pepperpy.registry import LoadedProvider, ProviderRegistry
from pepperpy.settings import Settings

__all__ = ["LoadedPlugin", "load_plugin"]

_CACHE: dict[tuple[Path, float], LoadedPlugin] = {}


@dataclass(frozen=True)
class LoadedPlugin:
    """A verified plugin's class, manifest and the registry that creates it."""

    category: str
    provider_name: str
    name: str
    version: str
    registry: ProviderRegistry
    loaded: LoadedProvider
    home: Path

    @property
    def config_schema(self) -> Mapping[str, Any] | None:
        return self.loaded.config_schema

    def create(self, config: Mapping[str, Any]) -> BaseProvider:
        """A new provider (config checked against the plugin's schema), not initialized."""
        return self.registry.create(self.category, self.provider_name, config)


def load_plugin(path: str | Path, *, home: Path | None = None, install_deps: bool = False,
                progress: Callable[[str], None] | None = None) -> LoadedPlugin:
    """Build (a folder) or take (a bundle), verify, and import the plugin at ``path``.

    ``home`` is the private PEPPERPY_HOME to use; by default a temporary folder removed
    when the process exits. Results are cached per path and modification time.
    """
    from pepperpy.bundle.build import BUNDLE_SUFFIX
    from pepperpy.plugins.manager import PluginManager

    path = Path(path).resolve()
    if not path.exists():
        raise ConfigurationError(f"{path} does not exist; give a plugin folder or a "
                                 f"{BUNDLE_SUFFIX} file")
    stamp = max((p.stat().st_mtime for p in path.rglob("*")), default=path.stat().st_mtime)
    cached = _CACHE.get((path, stamp))
    if cached is not None and home is None:
        return cached
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="pepperpy-plugin-test-"))
        atexit.register(shutil.rmtree, home, True)
    dist = home / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    m = _build(path, dist, home) if path.is_dir() else _take(path, dist, home)
    settings = replace(Settings.from_env(), home=home, dev_mode=True, plugin_path=(dist,),
                       auto_install=install_deps, checkout_plugins=False, dev_plugins=())
    registry = ProviderRegistry(resolver=PluginManager(settings, progress=progress))
    loaded = registry.load(m.category, m.provider_name)
    plugin = LoadedPlugin(m.category, m.provider_name, m.name, m.version, registry, loaded, home)
    _CACHE[(path, stamp)] = plugin
    return plugin


def _build(src: Path, dist: Path, home: Path) -> Any:
    from pepperpy.bundle.build import build_bundle
    from pepperpy.testing_bundles import BundleFactory

    factory = BundleFactory(publisher="plugin-test")  # a throwaway key, never saved
    factory.trust(home)
    return build_bundle(src, key=factory.key, out_dir=dist, force=True).bundle.manifest


def _take(bundle: Path, dist: Path, home: Path) -> Any:
    from pepperpy.bundle.build import BUNDLE_SUFFIX

    if bundle.suffix != BUNDLE_SUFFIX:
        raise ConfigurationError(f"{bundle} is neither a plugin folder nor a "
                                 f"{BUNDLE_SUFFIX} file")
    operator = Settings.from_env()
    if operator.trust_file.is_file():
        shutil.copyfile(operator.trust_file, home / "trust.json")
    target = dist / bundle.name
    shutil.copyfile(bundle, target)
    return _verify(target, home).manifest


def _verify(bundle: Path, home: Path) -> Any:
    """Full verification against the copied trust store, so a refusal names its reason."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.trust.gate import read_bundle, verify_bundle

    return verify_bundle(read_bundle(bundle), TrustStore(home / "trust.json").snapshot(),
                  path=str(bundle))
