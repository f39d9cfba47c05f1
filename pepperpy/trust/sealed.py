"""Import a verified bundle's code and data from the verified bytes, held in memory.

Invariants:

- Sealed: :func:`import_bundle` accepts only a ``VerifiedBundle`` that ``gate.py``
  issued in this process (never raw bytes plus a digest). Every module, whether imported
  at load time or lazily hours later, and every data file read through ``get_data`` or
  ``importlib.resources`` comes from that bundle's verified ``bytes``; no file is opened,
  so replacing or deleting anything on disk after the check changes nothing that runs.
  Nothing is written to disk and nothing is extracted.
- Each bundle becomes the package ``_pepperpy_plugins.<name>_<sha256>`` (the full
  digest: two bundles share a package only if they are the same bytes). The bundle's
  root ``__init__.py`` (if any) runs as that package, relative imports work, two
  plugins may both have ``provider.py``.
- One finder, first on ``sys.meta_path``, answers only for the packages registered
  here; everything else falls through to the normal finders at the cost of one prefix
  check. A failed import leaves no module of the bundle behind, and unregisters it.
- Tracebacks show the verified lines: each module's source is put in ``linecache``
  from the verified bytes when it runs (``pepperpy/_lines.py``: at once if ``linecache``
  is loaded, else as soon as it is), so the ``traceback`` module never reads the
  bundle's path on disk (3.11 and 3.12's built-in hook for uncaught errors still does).

Where the sealed loader differs from ``zipimport`` (docs/bundle-format.md, section 10):
``__path__`` of every bundle package is ``[]`` (if this finder were removed from
``sys.meta_path`` an import fails closed instead of reopening a file by path);
``__file__``/``co_filename`` read ``<bundle path>/<entry>`` but are labels, never opened;
a folder without ``__init__.py`` imports as an empty regular package;
``.pepperpy-signature`` is hidden from ``get_data`` and ``importlib.resources``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pepperpy._lines import remember
from pepperpy.core import PluginLoadError
from pepperpy.trust.gate import issued
from pepperpy.trust.types import VerifiedBundle

__all__ = ["NAMESPACE", "SealedImporter", "import_bundle", "package_name", "unload"]

NAMESPACE = "_pepperpy_plugins"


def package_name(name: str, digest: str) -> str:
    """The private package a bundle is imported as."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_") or "plugin"
    return f"{NAMESPACE}.{safe}_{digest}"


def import_bundle(bundle: VerifiedBundle, *, location: Path) -> Any:
    """Import the bundle's ``entry_point`` (``module:attr``) and return the attribute.

    ``location`` is the path the bundle was read from: a label for ``__file__`` and
    tracebacks, never opened.
    """
    if not isinstance(bundle, VerifiedBundle) or not issued(bundle):
        raise TypeError("import_bundle needs a VerifiedBundle issued by pepperpy.trust.gate")
    m = bundle.manifest
    module_name, _, attr = m.entry_point.partition(":")
    package = package_name(m.name, bundle.digest)
    namespace()
    if not any(f is _FINDER for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)
    registered = package not in _FINDER.importers
    if registered:
        _FINDER.importers[package] = SealedImporter(package, bundle, root=str(location))
    before = set(sys.modules)
    try:
        target = importlib.import_module(
            package if module_name in {"", "."} else f"{package}.{module_name.lstrip('.')}")
        return getattr(target, attr)
    except Exception as exc:
        unload(package, before)
        if registered:
            _FINDER.importers.pop(package, None)
        raise PluginLoadError(f"plugin {m.name!r}: importing {m.entry_point!r} failed: "
                              f"{type(exc).__name__}: {exc}; the publisher must fix the bundle",
                              plugin=m.name) from exc


def unload(package: str, before: set[str]) -> None:
    """Forget the modules of ``package`` imported since ``before`` (a failed import)."""
    for name in set(sys.modules) - before:
        if name == package or name.startswith(package + "."):
            sys.modules.pop(name, None)


def namespace() -> None:
    """The private parent package, with no search path: nothing imports by accident."""
    if NAMESPACE not in sys.modules:
        root = types.ModuleType(NAMESPACE, "Private parent of imported PepperPy plugins.")
        root.__path__ = []
        sys.modules[NAMESPACE] = root


class SealedImporter:
    """Finder and loader for one bundle package, serving code from verified bytes.

    Implements what ``zipimporter`` offers (``find_spec``, ``exec_module``,
    ``get_code``, ``get_source``, ``get_filename``, ``is_package``, ``get_data``,
    ``get_resource_reader``) without subclassing ``importlib.abc.Loader``: importing
    ``importlib.abc`` pulls in ``importlib.resources`` and ``tempfile``.
    """

    def __init__(self, package: str, bundle: VerifiedBundle, *, root: str) -> None:
        self.package, self.root, self.contents = package, root, bundle.entries
        self.files = frozenset(bundle.entries)
        self.dirs = {name.rsplit("/", i)[0] for name in self.files
                     for i in range(1, name.count("/") + 1)}

    def read(self, name: str) -> bytes:
        if name not in self.files:
            raise FileNotFoundError(2, "no such file in the verified bundle", name)
        return bytes(self.contents[name])

    def _lookup(self, fullname: str) -> tuple[str | None, bool] | None:
        """(source entry or None, is_package) for a module of this bundle, else None."""
        if fullname != self.package and not fullname.startswith(self.package + "."):
            return None
        parts = fullname[len(self.package) + 1:].split(".") if fullname != self.package else []
        if not all(p.isidentifier() for p in parts):
            return None
        rel = "/".join(parts)
        init = f"{rel}/__init__.py" if rel else "__init__.py"
        if init in self.files:
            return init, True
        if rel and f"{rel}.py" in self.files:
            return f"{rel}.py", False
        return (None, True) if not rel or rel in self.dirs else None

    def _require(self, fullname: str) -> tuple[str | None, bool]:
        if (found := self._lookup(fullname)) is None:
            raise ImportError(f"{fullname!r} is not in the bundle {self.root}", name=fullname)
        return found

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if (found := self._lookup(fullname)) is None:
            return None
        origin = None if found[0] is None else f"{self.root}/{found[0]}"
        loader: Any = self  # the loader protocol, without importlib.abc (see above)
        spec = importlib.machinery.ModuleSpec(fullname, loader, origin=origin, is_package=found[1])
        spec.has_location = origin is not None
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        if (code := self.get_code(module.__name__)) is not None:
            exec(code, module.__dict__)

    def get_code(self, fullname: str) -> types.CodeType | None:
        entry, _ = self._require(fullname)
        if entry is None:
            return None
        source = self.read(entry).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        filename = f"{self.root}/{entry}"
        # no coding cookie possible in the first two lines: UTF-8 (BOM or not), without
        # ``decode_source``'s import of ``tokenize`` (about 1 ms)
        head = source.split(b"\n", 2)[:2]
        text = (importlib.util.decode_source(source) if any(b"coding" in h for h in head)
                else source.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
        remember(filename, text)  # tracebacks read these lines, never the file now there
        return compile(source, filename, "exec", dont_inherit=True)

    def get_source(self, fullname: str) -> str | None:
        entry, _ = self._require(fullname)
        return None if entry is None else importlib.util.decode_source(self.read(entry))

    def get_filename(self, fullname: str) -> str:
        entry, _ = self._require(fullname)
        if entry is None:
            raise ImportError(f"{fullname!r} has no source file", name=fullname)
        return f"{self.root}/{entry}"

    def is_package(self, fullname: str) -> bool:
        return self._require(fullname)[1]

    def get_data(self, pathname: str) -> bytes:
        """A file's bytes, named relative to the bundle or as ``<bundle path>/<name>``."""
        return self.read(pathname.removeprefix(self.root + "/"))

    def get_resource_reader(self, fullname: str) -> Any:
        if (found := self._lookup(fullname)) is None or not found[1]:
            return None
        from importlib.resources.abc import TraversableResources  # only when data is read

        path = SealedPath(self, fullname[len(self.package) + 1:].replace(".", "/"))
        return type("SealedResources", (TraversableResources,), {"files": lambda _: path})()


class SealedPath:
    """A file or folder inside the verified bundle, for ``importlib.resources``
    (a ``Traversable``); every read uses the verified bytes."""

    def __init__(self, importer: SealedImporter, at: str) -> None:
        self._importer, self._at = importer, at

    def __str__(self) -> str:
        return f"{self._importer.root}/{self._at}" if self._at else self._importer.root

    @property
    def name(self) -> str:
        return self._at.rsplit("/", 1)[-1] if self._at else os.path.basename(self._importer.root)

    def is_file(self) -> bool:
        return self._at in self._importer.files

    def is_dir(self) -> bool:
        return not self._at or self._at in self._importer.dirs

    def iterdir(self) -> Iterator[SealedPath]:
        if not self.is_dir():
            raise (NotADirectoryError if self.is_file() else FileNotFoundError)(str(self))
        prefix = self._at + "/" if self._at else ""
        names = {prefix + n[len(prefix):].split("/", 1)[0]
                 for n in self._importer.files if n.startswith(prefix)}
        return iter([SealedPath(self._importer, n) for n in sorted(names)])

    def joinpath(self, *descendants: str | os.PathLike[str]) -> SealedPath:
        parts = [self._at] if self._at else []
        for descendant in descendants:
            parts += [p for p in os.fspath(descendant).split("/") if p not in ("", ".")]
        return SealedPath(self._importer, "/".join(parts))

    __truediv__ = joinpath

    def read_bytes(self) -> bytes:
        if self.is_dir():
            raise IsADirectoryError(str(self))
        return self._importer.read(self._at)

    def read_text(self, encoding: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8")

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode not in ("r", "rb"):
            raise ValueError(f"mode {mode!r}: a bundle is read-only ('r' or 'rb')")
        stream = io.BytesIO(self.read_bytes())
        return stream if mode == "rb" else io.TextIOWrapper(stream, *args, **kwargs)


class _Finder:
    """The meta path finder for every registered bundle package (no distributions)."""

    def __init__(self) -> None:
        self.importers: dict[str, SealedImporter] = {}

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        importer = self.importers.get(".".join(fullname.split(".", 2)[:2]))
        return None if importer is None else importer.find_spec(fullname)


_FINDER = _Finder()
