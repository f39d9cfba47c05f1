"""Import a verified bundle's code and data from the verified bytes, held in memory.

Invariants:

- Sealed: a signed bundle is imported from the exact ``bytes`` object that was
  verified (its SHA-256 is checked again here). Every module, whether imported at load
  time or lazily hours later, and every data file read through ``get_data`` or
  ``importlib.resources`` is inflated from those bytes; no file is opened, so replacing
  or deleting anything on disk after the check changes nothing that runs. Nothing is
  written to disk and nothing is extracted.
- Each bundle becomes the package ``_pepperpy_plugins.<name>_<sha256>`` (the full
  digest: two bundles share a package only if they are the same bytes). The bundle's
  root ``__init__.py`` (if any) runs as that package, relative imports work, two
  plugins may both have ``provider.py``.
- One finder, first on ``sys.meta_path``, answers only for the packages registered
  here; everything else falls through to the normal finders at the cost of one prefix
  check. A failed import leaves no module of the bundle behind, and unregisters it.
- Developer mode (``zipped=False``) imports an unsigned folder with the normal
  ``SourceFileLoader`` and path finder, as before.

Where the sealed loader differs from ``zipimport`` (docs/bundle-format.md, section 10):

- ``__path__`` of every bundle package is ``[]``: the path finder, path hooks and
  ``pkgutil.iter_modules`` see nothing, so if this finder were removed from
  ``sys.meta_path`` an import fails closed instead of reopening a file by path.
- ``__file__``/``co_filename`` read ``<bundle path>/<entry>`` like zipimport's, but
  that path is a label: it is never opened. Tracebacks, ``inspect`` and ``linecache``
  get source lines from ``get_source`` (the verified bytes) -- unless something exists
  at that very path on disk, which ``linecache`` prefers (it can only affect lines
  displayed, never code that runs; a bundle path is a file, so nothing can be below it
  unless the bundle is replaced by a folder).
- A folder without ``__init__.py`` imports as an empty regular package (``__file__``
  unset) served by this loader, not as a namespace package; resources work in it.
- ``.pepperpy-signature`` is hidden from ``get_data`` and ``importlib.resources``.
- The bundle bytes stay in memory for the life of the process (zipimport keeps only
  the central directory); each read inflates and CRC-checks the entry again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import io
import os
import re
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pepperpy.core import BundleInvalidError, PluginLoadError

if TYPE_CHECKING:
    from pepperpy.bundle.zipformat import ZipEntry

__all__ = ["NAMESPACE", "SealedImporter", "import_entry_point", "package_name"]

NAMESPACE = "_pepperpy_plugins"
_SIGNATURE = ".pepperpy-signature"  # pepperpy.bundle.names.SIGNATURE_NAME (not imported: cost)


def package_name(name: str, digest: str) -> str:
    """The private package a bundle is imported as."""
    safe = re.sub(r"\W", "_", name).strip("_") or "plugin"
    return f"{NAMESPACE}.{safe}_{digest}"


def import_entry_point(
    entry_point: str,
    *,
    package: str,
    plugin: str,
    location: Path,
    data: bytes | None = None,
    digest: str | None = None,
    zipped: bool = True,
) -> Any:
    """Import ``module:attr`` and return the attribute.

    ``zipped=True`` (signed bundles): ``data`` is the verified bundle, ``digest`` its
    SHA-256 and ``location`` the path it was read from (a label for ``__file__`` and
    tracebacks, never opened). ``zipped=False`` (developer mode): ``location`` is the
    plugin folder, imported from disk.
    """
    module_name, _, attr = entry_point.partition(":")
    if not module_name or not attr:
        raise PluginLoadError(
            f"plugin {plugin!r}: entry_point {entry_point!r} must look like 'module:Class'",
            plugin=plugin,
        )
    _namespace()
    registered = False
    if zipped:
        if data is None or digest is None:
            raise TypeError("import_entry_point(zipped=True) needs the verified data and digest")
        registered = _register(package, data, digest, location)
    before = set(sys.modules)
    try:
        if not zipped:
            _folder_package(package, location)
        target = importlib.import_module(
            package if module_name in {"", "."} else f"{package}.{module_name.lstrip('.')}"
        )
        return getattr(target, attr)
    except Exception as exc:
        for name in set(sys.modules) - before:
            if name == package or name.startswith(package + "."):
                sys.modules.pop(name, None)
        if registered:
            _FINDER.importers.pop(package, None)
        raise PluginLoadError(
            f"plugin {plugin!r}: importing {entry_point!r} failed: "
            f"{type(exc).__name__}: {exc}; the publisher must fix the bundle",
            plugin=plugin,
        ) from exc


def _register(package: str, data: bytes, digest: str, location: Path) -> bool:
    """Make ``package`` importable from ``data``; False if it already was."""
    if not isinstance(data, bytes):  # a bytearray or memoryview could change later
        raise TypeError("the verified bundle must be immutable bytes")
    _install_finder()
    if package in _FINDER.importers:
        return False
    _FINDER.importers[package] = SealedImporter(package, _Archive(data, digest),
                                                root=str(location))
    return True


def _namespace() -> None:
    if NAMESPACE not in sys.modules:
        root = types.ModuleType(NAMESPACE, "Private parent of imported PepperPy plugins.")
        root.__path__ = []  # a package with no search path: nothing imports by accident
        sys.modules[NAMESPACE] = root


def _folder_package(package: str, location: Path) -> None:
    """Developer mode: the folder's ``__init__.py`` (if any) runs as ``package``."""
    if package in sys.modules:
        return
    init = str(location / "__init__.py")
    loader = importlib.machinery.SourceFileLoader(package, init)
    spec = importlib.machinery.ModuleSpec(package, loader, origin=init, is_package=True)
    spec.submodule_search_locations = [str(location)]
    spec.has_location = True
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    if (location / "__init__.py").is_file():
        loader.exec_module(module)


class _Archive:
    """The verified bundle bytes, indexed once. Every read inflates from them."""

    def __init__(self, data: bytes, digest: str) -> None:
        from pepperpy.bundle import zipformat

        if hashlib.sha256(data).hexdigest() != digest:
            raise BundleInvalidError("the bytes to import do not match the verified digest")
        self.data = data
        self.files: dict[str, ZipEntry] = {
            e.name: e for e in zipformat.parse_archive(data) if e.name != _SIGNATURE
        }
        self.dirs = {name.rsplit("/", i)[0] for name in self.files
                     for i in range(1, name.count("/") + 1)}

    def read(self, name: str) -> bytes:
        from pepperpy.bundle import zipformat

        entry = self.files.get(name)
        if entry is None:
            raise FileNotFoundError(2, "no such file in the verified bundle", name)
        return bytes(zipformat.read_entry(self.data, entry))

    def children(self, folder: str) -> list[str]:
        """Names of the files and folders directly inside ``folder`` ("" is the root)."""
        prefix = folder + "/" if folder else ""
        return sorted(n for n in (*self.files, *self.dirs)
                      if n.startswith(prefix) and "/" not in n[len(prefix):])


class SealedImporter:
    """Finder and loader for one bundle package, serving code from verified bytes.

    Implements what ``zipimporter`` offers (``find_spec``, ``exec_module``,
    ``get_code``, ``get_source``, ``get_filename``, ``is_package``, ``get_data``,
    ``get_resource_reader``) without subclassing ``importlib.abc.Loader``: importing
    ``importlib.abc`` pulls in ``importlib.resources`` and ``tempfile``.
    """

    def __init__(self, package: str, archive: _Archive, *, root: str) -> None:
        self.package = package
        self.archive = archive
        self.root = root

    def __repr__(self) -> str:
        return f"<SealedImporter {self.package} from verified bytes of {self.root!r}>"

    def _lookup(self, fullname: str) -> tuple[str | None, bool] | None:
        """(source entry or None, is_package) for a module of this bundle, else None."""
        if fullname == self.package:
            rel = ""
        elif fullname.startswith(self.package + "."):
            parts = fullname[len(self.package) + 1:].split(".")
            if not all(p.isidentifier() for p in parts):
                return None
            rel = "/".join(parts)
        else:
            return None
        init = f"{rel}/__init__.py" if rel else "__init__.py"
        if init in self.archive.files:
            return init, True
        if rel and f"{rel}.py" in self.archive.files:
            return f"{rel}.py", False
        if not rel or rel in self.archive.dirs:
            return None, True
        return None

    def _require(self, fullname: str) -> tuple[str | None, bool]:
        found = self._lookup(fullname)
        if found is None:
            raise ImportError(f"{fullname!r} is not in the bundle {self.root}", name=fullname)
        return found

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        found = self._lookup(fullname)
        if found is None:
            return None
        entry, is_package = found
        origin = None if entry is None else f"{self.root}/{entry}"
        loader: Any = self  # the loader protocol, without importlib.abc (see above)
        spec = importlib.machinery.ModuleSpec(fullname, loader, origin=origin,
                                              is_package=is_package)
        spec.has_location = origin is not None
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        code = self.get_code(module.__name__)
        if code is not None:
            exec(code, module.__dict__)

    def get_code(self, fullname: str) -> types.CodeType | None:
        entry, _ = self._require(fullname)
        if entry is None:
            return None
        source = self.archive.read(entry).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return compile(source, f"{self.root}/{entry}", "exec", dont_inherit=True)

    def get_source(self, fullname: str) -> str | None:
        entry, _ = self._require(fullname)
        return None if entry is None else importlib.util.decode_source(self.archive.read(entry))

    def get_filename(self, fullname: str) -> str:
        entry, _ = self._require(fullname)
        if entry is None:
            raise ImportError(f"{fullname!r} has no source file", name=fullname)
        return f"{self.root}/{entry}"

    def is_package(self, fullname: str) -> bool:
        return self._require(fullname)[1]

    def get_data(self, pathname: str) -> bytes:
        """A file's bytes, named relative to the bundle or as ``<bundle path>/<name>``."""
        prefix = self.root + "/"
        return self.archive.read(pathname[len(prefix):] if pathname.startswith(prefix)
                                 else pathname)

    def get_resource_reader(self, fullname: str) -> Any:
        found = self._lookup(fullname)
        if found is None or not found[1]:
            return None
        folder = fullname[len(self.package) + 1:].replace(".", "/")
        return _resource_classes()[0](self, folder)


class _Finder:
    """The meta path finder for every registered bundle package (no distributions)."""

    def __init__(self) -> None:
        self.importers: dict[str, SealedImporter] = {}

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(NAMESPACE + "."):
            return None
        importer = self.importers.get(".".join(fullname.split(".", 2)[:2]))
        return None if importer is None else importer.find_spec(fullname)


_FINDER = _Finder()


def _install_finder() -> None:
    if not any(f is _FINDER for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)


_RESOURCE_CLASSES: tuple[type, type] | None = None


def _resource_classes() -> tuple[type, type]:
    """Define the resource reader and traversable on first use (``importlib.resources``
    costs imports that a plugin reading no data never pays)."""
    global _RESOURCE_CLASSES
    if _RESOURCE_CLASSES is None:
        _RESOURCE_CLASSES = _define_resource_classes()
    return _RESOURCE_CLASSES


def _define_resource_classes() -> tuple[type, type]:
    from importlib.resources.abc import Traversable, TraversableResources

    class SealedResources(TraversableResources):
        """``importlib.resources`` reader for one package folder of a sealed bundle."""

        def __init__(self, importer: SealedImporter, folder: str) -> None:
            self.importer, self.folder = importer, folder

        def files(self) -> SealedPath:
            return SealedPath(self.importer, self.folder)

    class SealedPath(Traversable):
        """A file or folder inside the verified bundle; every read uses its bytes."""

        def __init__(self, importer: SealedImporter, at: str) -> None:
            self._importer, self._at = importer, at

        def __repr__(self) -> str:
            return f"SealedPath({str(self)!r})"

        def __str__(self) -> str:
            return f"{self._importer.root}/{self._at}" if self._at else self._importer.root

        def __eq__(self, other: object) -> bool:
            return (isinstance(other, SealedPath) and other._importer is self._importer
                    and other._at == self._at)

        def __hash__(self) -> int:
            return hash((id(self._importer), self._at))

        @property
        def name(self) -> str:
            return self._at.rsplit("/", 1)[-1] if self._at else os.path.basename(
                self._importer.root)

        def is_file(self) -> bool:
            return self._at in self._importer.archive.files

        def is_dir(self) -> bool:
            return not self._at or self._at in self._importer.archive.dirs

        def iterdir(self) -> Iterator[SealedPath]:
            if not self.is_dir():
                raise (NotADirectoryError if self.is_file() else FileNotFoundError)(str(self))
            archive = self._importer.archive
            return iter([SealedPath(self._importer, n) for n in archive.children(self._at)])

        def joinpath(self, *descendants: str | os.PathLike[str]) -> SealedPath:
            parts = [self._at] if self._at else []
            for descendant in descendants:
                parts += [p for p in os.fspath(descendant).split("/") if p not in ("", ".")]
            return SealedPath(self._importer, "/".join(parts))

        def __truediv__(self, child: str | os.PathLike[str]) -> SealedPath:
            return self.joinpath(child)

        def read_bytes(self) -> bytes:
            if self.is_dir():
                raise IsADirectoryError(str(self))
            return self._importer.archive.read(self._at)

        def read_text(self, encoding: str | None = None) -> str:
            with self.open("r", encoding=encoding) as stream:
                return str(stream.read())

        def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if mode not in ("r", "rb"):
                raise ValueError(f"mode {mode!r}: a bundle is read-only ('r' or 'rb')")
            stream = io.BytesIO(self.read_bytes())
            return stream if mode == "rb" else io.TextIOWrapper(stream, *args, **kwargs)

    return SealedResources, SealedPath
