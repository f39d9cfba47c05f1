"""The plugin manager: discovery, install, dependencies and verified loading.

Names only; each stage lives in its own module (see ``manager.py`` for the order).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DeveloperModeWarning": "pepperpy.plugins.devmode",
    "PluginConflictWarning": "pepperpy.plugins.manager",
    "PluginManager": "pepperpy.plugins.manager",
    "install_bundle": "pepperpy.plugins.install",
    "remove_plugin": "pepperpy.plugins.install",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pepperpy.plugins' has no attribute {name!r}")
    return getattr(import_module(module), name)
