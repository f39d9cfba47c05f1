"""Import a verified bundle's code through zipimport, under a private namespace.

Invariants:
- ``pin`` is the only way bytes reach the file zipimport opens: the verified bytes are
  written to ``cache_dir/pinned/<sha256>.pepperplugin`` (folder 0700, file 0444) and an
  existing pinned copy is re-hashed before reuse, so the file imported is the file that
  was verified, whatever happens to the installed copy afterwards.
- Each bundle becomes the package ``_pepperpy_plugins.<name>_<sha256>`` (the full
  digest: two bundles share a package only if they are the same bytes) whose
  ``__path__`` is the pinned archive: the bundle's root ``__init__.py`` runs as that
  package, relative imports work, two plugins may both have ``provider.py``, and
  ``importlib.resources.files(package)`` reads data files from the archive.
- Nothing is extracted to disk. A failed import leaves no module of the bundle behind.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
import zipimport
from pathlib import Path
from typing import Any

from pepperpy.core import BundleInvalidError, PluginLoadError
from pepperpy.plugins.locking import atomic_write

__all__ = ["NAMESPACE", "import_entry_point", "package_name", "pin"]

NAMESPACE = "_pepperpy_plugins"


def pin(data: bytes, digest: str, *, cache_dir: Path) -> Path:
    """Write verified ``data`` to its content-addressed, read-only copy; return the path."""
    if hashlib.sha256(data).hexdigest() != digest:
        raise BundleInvalidError("pinned bytes do not match the verified digest")
    folder = cache_dir / "pinned"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    path = folder / f"{digest}.pepperplugin"
    try:
        if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            return path
    except FileNotFoundError:
        pass
    atomic_write(path, data, mode=0o444)
    return path


def package_name(name: str, digest: str) -> str:
    """The private package a bundle is imported as."""
    safe = re.sub(r"\W", "_", name).strip("_") or "plugin"
    return f"{NAMESPACE}.{safe}_{digest}"


def import_entry_point(
    entry_point: str, *, package: str, location: Path, zipped: bool, plugin: str
) -> Any:
    """Import ``module:attr`` from the bundle at ``location``; return the attribute."""
    module_name, _, attr = entry_point.partition(":")
    if not module_name or not attr:
        raise PluginLoadError(
            f"plugin {plugin!r}: entry_point {entry_point!r} must look like 'module:Class'",
            plugin=plugin,
        )
    before = set(sys.modules)
    try:
        root = _root_package(package, location, zipped=zipped)
        target = root if module_name in {"", "."} else importlib.import_module(
            f"{package}.{module_name.lstrip('.')}"
        )
        return getattr(target, attr)
    except Exception as exc:
        for name in set(sys.modules) - before:
            if name == package or name.startswith(package + "."):
                sys.modules.pop(name, None)
        raise PluginLoadError(
            f"plugin {plugin!r}: importing {entry_point!r} failed: "
            f"{type(exc).__name__}: {exc}; the publisher must fix the bundle",
            plugin=plugin,
        ) from exc


def _root_package(package: str, location: Path, *, zipped: bool) -> types.ModuleType:
    existing = sys.modules.get(package)
    if existing is not None:
        return existing
    _namespace()
    if zipped:
        loader: Any = _BundleRootLoader(location)
        origin = str(location / "__init__.py")
    else:
        loader = importlib.machinery.SourceFileLoader(package, str(location / "__init__.py"))
        origin = str(location / "__init__.py")
    spec = importlib.machinery.ModuleSpec(package, loader, origin=origin, is_package=True)
    spec.submodule_search_locations = [str(location)]
    spec.has_location = True
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    if zipped or (location / "__init__.py").is_file():
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _namespace() -> None:
    if NAMESPACE not in sys.modules:
        root = types.ModuleType(NAMESPACE, "Private parent of imported PepperPy plugins.")
        root.__path__ = []  # a package with no search path: nothing imports by accident
        sys.modules[NAMESPACE] = root


class _BundleRootLoader:
    """Runs the archive's root ``__init__.py`` (if any) as the bundle's package.

    zipimport cannot make an archive's root a package, so this loader reads that one
    file through a ``zipimporter``; submodules are found by the normal path hooks,
    which give them a ``zipimporter`` loader. It implements the loader protocol
    (``create_module``/``exec_module``) without subclassing ``importlib.abc.Loader``:
    importing ``importlib.abc`` pulls in ``importlib.resources`` and ``tempfile``.
    """

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self._zip = zipimport.zipimporter(str(archive))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        path = str(self.archive / "__init__.py")
        try:
            source = self._zip.get_data(path)
        except OSError:
            return  # no root __init__.py: an empty package
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)

    def get_resource_reader(self, fullname: str) -> Any:
        return _archive_resources(self.archive)


def _archive_resources(archive: Path) -> Any:
    """A ``TraversableResources`` over the archive (defined when first asked for)."""
    from importlib.resources.abc import TraversableResources

    class _ArchiveResources(TraversableResources):
        def files(self) -> Any:
            import zipfile

            return zipfile.Path(archive)

    return _ArchiveResources()
