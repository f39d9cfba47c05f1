"""Developer mode: import unsigned ``plugin_src`` folders. Off unless explicitly set.

Invariants:
- Only folders named in ``Settings.dev_plugins`` (``PEPPERPY_DEV_PLUGINS``) are read;
  with the setting empty this module does nothing and reads nothing.
- Each entry is a plugin folder (holding ``plugin.json``) or a folder of them. The
  manifest gets the same strict checks as in a bundle; the code is NOT verified, so every
  load prints a warning to stderr and emits a ``DeveloperModeWarning``.
- Code is imported from the folder under the same private namespace as bundles
  (``_pepperpy_plugins.<name>_dev<hash of path>``), so it never shadows real modules.
- Dependencies are checked, never installed: developers install them themselves.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path
from typing import Any

from pepperpy.registry import LoadedProvider
from pepperpy.settings import Settings

__all__ = ["DeveloperModeWarning", "available", "resolve"]


class DeveloperModeWarning(UserWarning):
    """Unsigned plugin code was loaded because developer mode is on."""


def _folders(settings: Settings) -> list[Path]:
    out: list[Path] = []
    for entry in settings.dev_plugins:
        if (entry / "plugin.json").is_file():
            out.append(entry)
        elif entry.is_dir():
            out += sorted(p for p in entry.iterdir() if (p / "plugin.json").is_file())
    return out


def _manifest(folder: Path) -> Any:
    from pepperpy.bundle.manifest import parse_manifest

    return parse_manifest((folder / "plugin.json").read_bytes())


def available(settings: Settings, category: str) -> list[str]:
    """Provider names the dev folders offer (manifests only)."""
    names = []
    for folder in _folders(settings):
        try:
            m = _manifest(folder)
        except Exception:  # a broken dev folder only hides itself
            continue
        if m.category == category:
            names.append(m.provider_name)
    return names


def resolve(settings: Settings, category: str, provider_name: str) -> LoadedProvider | None:
    """Import the dev folder offering the provider, loudly; None if none does."""
    for folder in _folders(settings):
        m = _manifest(folder)
        if (m.category, m.provider_name) != (category, provider_name):
            continue
        return _load(folder, m, settings=settings)
    return None


def _load(folder: Path, manifest: Any, *, settings: Settings) -> LoadedProvider:
    from pepperpy.plugins.dependencies import find_unsatisfied
    from pepperpy.plugins.loader import NAMESPACE, import_entry_point

    message = (
        f"PepperPy DEVELOPER MODE: loading UNSIGNED plugin code for {manifest.category} "
        f"provider {manifest.provider_name!r} from {folder} (PEPPERPY_DEV_PLUGINS is set). "
        "Never use this in production."
    )
    print(f"WARNING: {message}", file=sys.stderr, flush=True)
    warnings.warn(message, DeveloperModeWarning, stacklevel=4)
    missing = find_unsatisfied(manifest.dependencies)
    if missing:
        from pepperpy.core import DependencyError

        raise DependencyError(
            f"dev plugin {manifest.name!r} needs {', '.join(u.describe() for u in missing)}; "
            "install them into this environment (developer mode never runs uv)",
            plugin=manifest.name,
        )
    tag = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() else "_" for c in manifest.name)
    cls = import_entry_point(
        manifest.entry_point, package=f"{NAMESPACE}.{safe}_dev{tag}",
        location=folder.resolve(), zipped=False, plugin=manifest.name,
    )
    return LoadedProvider(cls, config_schema=manifest.config_schema,
                          origin=f"{folder} (UNSIGNED developer mode, {manifest.name} "
                                 f"{manifest.version})")
