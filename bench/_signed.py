"""The repo's plugins as real signed bundles for the bench scripts (not a bench itself).

Each ``plugin_src`` folder named is built with a throwaway publisher key (shared
``_shared/`` modules included, as ``pepperpy plugin build`` does), trusted in a private
home, and loaded through the plugin manager: verify, pin, zipimport, as users get it.
"""

from __future__ import annotations

from pathlib import Path

from pepperpy.registry import ProviderRegistry

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "plugin_src"


def signed_registry(workdir: Path, *folders: str) -> ProviderRegistry:
    """A registry offering the named ``plugin_src`` folders, built and signed in ``workdir``."""
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.settings import Settings
    from pepperpy.testing_bundles import BundleFactory

    factory = BundleFactory(publisher="pepperpy-bench")
    bundles = workdir / "bundles"
    bundles.mkdir(parents=True)
    for folder in folders:
        data = factory.build_folder(PLUGIN_SRC / folder)
        (bundles / f"{folder}.pepperplugin").write_bytes(data)
    home = workdir / "home"
    factory.trust(home)
    settings = Settings(
        home=home, plugin_path=(bundles,), auto_install=False, checkout_plugins=False,
        dev_mode=True,
    )
    return ProviderRegistry(resolver=PluginManager(settings))
