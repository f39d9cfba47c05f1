"""Developer mode: import unsigned ``plugin_src`` folders. Off unless explicitly set.

Invariants:
- Only folders named in ``Settings.dev_plugins`` (``PEPPERPY_DEV_PLUGINS``) are read;
  with the setting empty this module does nothing and reads nothing.
- Each entry is a plugin folder (holding ``plugin.json``) or a folder of them. The
  manifest gets the same strict checks as in a bundle; the code is NOT verified, so every
  load prints a warning to stderr and emits a ``DeveloperModeWarning``.
- Code is imported from the folder under the same private namespace as bundles
  (``_pepperpy_plugins.<name>_dev<hash of path>``), so it never shadows real modules.
- A folder with a ``shared.txt`` also imports the shared modules the builder would add
  to its bundle, found by the builder's own ``list_files`` (so the two cannot differ),
  from their real files in ``_shared/`` and only those; they are looked up after the
  folder's own files, which therefore always win (the builder refuses a name in both).
- Dependencies are checked, never installed: developers install them themselves.
- A broken dev folder (unreadable or invalid ``plugin.json``) is skipped with a warning;
  its error is raised only when nothing else (no other dev folder, no bundle) offers
  the provider it may be for.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Collection, Mapping, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
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
    """The folder's parsed ``plugin.json``; every failure is a ``PepperpyError``."""
    from pepperpy.core import BundleInvalidError
    from pepperpy.trust.manifest import parse_manifest

    path = folder / "plugin.json"
    fix = "fix it, or take the folder out of PEPPERPY_DEV_PLUGINS"
    try:
        return parse_manifest(path.read_bytes())
    except OSError as exc:
        raise BundleInvalidError(f"cannot read: {exc.strerror or exc}; {fix}",
                                 path=str(path)) from None
    except BundleInvalidError as exc:
        raise BundleInvalidError(f"{exc.reason}; {fix}", plugin=exc.plugin,
                                 path=str(path)) from None


def available(settings: Settings, category: str) -> list[str]:
    """Provider names the dev folders offer (manifests only)."""
    from pepperpy.core import PepperpyError

    names = []
    for folder in _folders(settings):
        try:
            m = _manifest(folder)
        except PepperpyError:  # a broken dev folder only hides itself
            continue
        if m.category == category:
            names.append(m.provider_name)
    return names


def resolve(settings: Settings, category: str, provider_name: str) -> LoadedProvider | None:
    """Import the dev folder offering the provider, loudly; None if none does.

    A broken dev folder is skipped with a ``DeveloperModeWarning`` (one broken folder is
    not an outage); :func:`raise_if_broken` reports it when nothing else offers the
    provider.
    """
    from pepperpy.core import PepperpyError

    for folder in _folders(settings):
        try:
            m = _manifest(folder)
        except PepperpyError as exc:
            if _may_offer(folder, category, provider_name):
                warnings.warn(f"PepperPy developer mode: skipping a broken folder: {exc}",
                              DeveloperModeWarning, stacklevel=3)
            continue
        if (m.category, m.provider_name) == (category, provider_name):
            return _load(folder, m, settings=settings)
    return None


def raise_if_broken(settings: Settings, category: str, provider_name: str) -> None:
    """Nothing else offers the provider: raise the error of a broken dev folder that
    may be the one meant (its manifest names the provider, or cannot be read at all)."""
    from pepperpy.core import PepperpyError

    for folder in _folders(settings):
        try:
            _manifest(folder)
        except PepperpyError:
            if _may_offer(folder, category, provider_name):
                raise
            continue


def _may_offer(folder: Path, category: str, provider_name: str) -> bool:
    """Whether a broken folder's ``plugin.json`` could be for this provider: it names
    it, or is too broken to tell (unreadable, not JSON, not an object)."""
    import json

    try:
        data = json.loads((folder / "plugin.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return True
    if not isinstance(data, dict):
        return True
    return (data.get("category"), data.get("provider_name")) == (category, provider_name)


def _load(folder: Path, manifest: Any, *, settings: Settings) -> LoadedProvider:
    from pepperpy.core import PluginLoadError
    from pepperpy.plugins.dependencies import find_unsatisfied
    from pepperpy.trust.sealed import NAMESPACE

    if not unsigned_allowed(folder, settings.dev_plugins):
        raise PluginLoadError(f"{folder} is not a developer-mode folder; unsigned code runs "
                              "only from folders listed in PEPPERPY_DEV_PLUGINS")
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
    package = f"{NAMESPACE}.{safe}_dev{tag}"
    _add_shared_finder(package, _shared_modules(folder))
    cls = _import_folder(manifest, package, folder.resolve())
    return LoadedProvider(cls, config_schema=manifest.config_schema,
                          origin=f"{folder} (UNSIGNED developer mode, {manifest.name} "
                                 f"{manifest.version})")


def unsigned_allowed(folder: Path, dev_folders: Collection[Path]) -> bool:
    """Unsigned code runs only from a folder the operator listed for developer mode
    (``PEPPERPY_DEV_PLUGINS``), or a plugin folder directly inside one."""
    return any(folder in (base, base / folder.name) for base in dev_folders)


def _import_folder(manifest: Any, package: str, location: Path) -> Any:
    """Import ``entry_point`` from an unsigned folder with the normal source loader; the
    folder's ``__init__.py`` (if any) runs as ``package``."""
    import importlib

    from pepperpy.core import PluginLoadError
    from pepperpy.trust.sealed import namespace, unload

    module_name, _, attr = manifest.entry_point.partition(":")
    namespace()
    before = set(sys.modules)
    try:
        if package not in sys.modules:
            init = str(location / "__init__.py")
            loader = importlib.machinery.SourceFileLoader(package, init)
            spec = ModuleSpec(package, loader, origin=init, is_package=True)
            spec.submodule_search_locations = [str(location)]
            spec.has_location = True
            module = importlib.util.module_from_spec(spec)
            sys.modules[package] = module
            if (location / "__init__.py").is_file():
                loader.exec_module(module)
        target = importlib.import_module(
            package if module_name in {"", "."} else f"{package}.{module_name.lstrip('.')}")
        return getattr(target, attr)
    except Exception as exc:
        unload(package, before)
        raise PluginLoadError(
            f"plugin {manifest.name!r}: importing {manifest.entry_point!r} failed: "
            f"{type(exc).__name__}: {exc}; fix the plugin source", plugin=manifest.name,
        ) from exc


def _shared_modules(folder: Path) -> dict[str, Path]:
    """Module name -> file for the ``_shared`` modules the folder's bundle would hold."""
    from pepperpy.bundle.build import SHARED_LIST, list_files, shared_folder

    if not (folder / SHARED_LIST).is_file():
        return {}
    files, _ = list_files(folder)
    shared = shared_folder(folder)
    return {name.removesuffix(".py"): path for name, path in files if path.parent == shared}


class _SharedFinder:
    """Finds ``<package>.<module>`` for one dev plugin's shared modules, and nothing else.

    It sits at the END of ``sys.meta_path``: the normal path finder searches the plugin
    folder (the package's ``__path__``) first, so a shared module never hides one of
    the plugin's own files.
    """

    def __init__(self, package: str, modules: Mapping[str, Path]) -> None:
        self.package = package
        self.modules = dict(modules)

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        parent, _, module = fullname.rpartition(".")
        file = self.modules.get(module) if parent == self.package else None
        return None if file is None else importlib.util.spec_from_file_location(fullname, file)


def _add_shared_finder(package: str, modules: Mapping[str, Path]) -> None:
    """Install (or replace) the package's finder; remove it when nothing is shared."""
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not (isinstance(f, _SharedFinder) and f.package == package)]
    if modules:
        sys.meta_path.append(_SharedFinder(package, modules))
