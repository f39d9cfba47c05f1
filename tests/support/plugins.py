"""Load a provider straight from ``plugin_src/`` through the registry seam.

Until the signed-bundle fixture exists, tests import the plugin's package from source
and register its class with the schema from its ``plugin.json``, so the same config
checks run as for an installed bundle.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pepperpy.registry import ProviderRegistry

__all__ = ["PLUGIN_SRC", "load_source_plugin", "register_source_plugins"]

PLUGIN_SRC = Path(__file__).resolve().parents[2] / "plugin_src"


def load_source_plugin(folder: str) -> tuple[dict[str, Any], type]:
    """The manifest and provider class of ``plugin_src/<folder>``."""
    manifest = json.loads((PLUGIN_SRC / folder / "plugin.json").read_text())
    if str(PLUGIN_SRC) not in sys.path:
        sys.path.insert(0, str(PLUGIN_SRC))
    _shared_modules(folder)
    # The entry point is relative to the bundle root, which is the plugin's folder.
    module_name, class_name = manifest["entry_point"].split(":")
    module = importlib.import_module(f"{folder}.{module_name}")
    return manifest, getattr(module, class_name)


def _shared_modules(folder: str) -> None:
    """The ``_shared`` modules the folder's ``shared.txt`` lists, importable as
    ``folder.<module>`` (a built bundle holds them at its root)."""
    import importlib.util

    from pepperpy.bundle.build import SHARED_DIR, SHARED_LIST

    listed = PLUGIN_SRC / folder / SHARED_LIST
    if not listed.exists():
        return
    for line in listed.read_text().splitlines():
        name = line.strip()
        if not name or name.startswith("#") or f"{folder}.{name[:-3]}" in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(
            f"{folder}.{name[:-3]}", PLUGIN_SRC / SHARED_DIR / name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)


def register_source_plugins(registry: ProviderRegistry, *folders: str) -> ProviderRegistry:
    """Register each ``plugin_src`` folder's provider under its manifest's names."""
    for folder in folders:
        manifest, cls = load_source_plugin(folder)
        registry.register(
            manifest["category"],
            manifest["provider_name"],
            cls,
            config_schema=manifest.get("config_schema"),
        )
    return registry
