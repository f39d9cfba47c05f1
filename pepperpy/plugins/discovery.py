"""Find bundles and read their manifests cheaply, with an index cache.

Search order (earlier wins ties between equal versions, see ``manager.py``):

1. ``Settings.plugins_dir`` (``PEPPERPY_HOME/plugins``): what ``plugin install`` put there;
2. each folder of ``PEPPERPY_PLUGIN_PATH``, in order;
3. the checkout's ``dist_plugins/``: searching upward from the current directory, the
   first folder holding a ``pyproject.toml`` whose ``[project] name`` is ``pepperpy``
   and a ``dist_plugins`` folder beside it (so the repo's own built plugins work from
   anywhere inside a checkout, and never for an installed application).

Invariants:
- Only the ZIP central directory and ``plugin.json`` are read here (the bundle helper's
  ``read_manifest``); nothing is verified and nothing runs. A summary found here only
  chooses which files to verify; loading re-reads and verifies the bytes.
- The index cache (``cache_dir/index.json``) is keyed by (path, size, mtime_ns, inode,
  device): any change to a file re-reads it. A corrupt cache is ignored and rewritten.
- A broken bundle becomes a ``Found`` with ``problem`` set; it never stops discovery.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pepperpy.plugins.locking import atomic_write
from pepperpy.settings import Settings

__all__ = ["Found", "checkout_dist_plugins", "discover", "search_folders"]

SUFFIX = ".pepperplugin"
_INDEX_FORMAT = 1


@dataclass(frozen=True)
class Found:
    """One bundle file and what its manifest claims (unverified)."""

    path: str
    source: str  # "installed" | "plugin-path" | "checkout"
    order: int  # position in the search order; lower wins ties
    name: str | None = None
    version: str | None = None
    category: str | None = None
    provider_name: str | None = None
    problem: str | None = None


def checkout_dist_plugins(start: Path | None = None) -> Path | None:
    """The ``dist_plugins`` of the PepperPy checkout containing ``start`` (default CWD)."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        dist = folder / "dist_plugins"
        if project.is_file() and dist.is_dir() and _is_pepperpy_project(project):
            return dist
    return None


def _is_pepperpy_project(pyproject: Path) -> bool:
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("project", {}).get("name") == "pepperpy"


def search_folders(settings: Settings) -> list[tuple[str, Path]]:
    """The folders searched, in order, each with its source label."""
    folders: list[tuple[str, Path]] = [("installed", settings.plugins_dir)]
    folders += [("plugin-path", p) for p in settings.plugin_path]
    dist = checkout_dist_plugins() if settings.checkout_plugins else None
    if dist is not None:
        folders.append(("checkout", dist))
    return folders


def _scan(folder: Path) -> Iterator[os.DirEntry[str]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
            yield entry


def discover(settings: Settings) -> list[Found]:
    """Every bundle in the search folders, in search order, with its manifest summary."""
    index_path = settings.cache_dir / "index.json"
    cached = _load_index(index_path)
    fresh: dict[str, dict] = {}
    found: list[Found] = []
    seen: set[str] = set()
    for source, folder in search_folders(settings):
        for entry in _scan(folder):
            path = os.path.abspath(entry.path)
            if path in seen:
                continue
            seen.add(path)
            item = _summary(entry, path, cached)
            fresh[path] = item
            found.append(_found(item, path=path, source=source, order=len(found)))
    if fresh != cached:
        _save_index(index_path, fresh)
    return found


def _summary(entry: os.DirEntry[str], path: str, cached: dict[str, dict]) -> dict:
    """The cached summary if the file's identity is unchanged, else a fresh read."""
    try:
        st = entry.stat()
    except OSError as exc:
        return {"identity": None, "problem": f"cannot stat: {exc.strerror}"}
    identity = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
    old = cached.get(path)
    if old is not None and old.get("identity") == identity:
        return old
    return {"identity": identity, **read_summary(Path(path))}


def read_summary(path: Path) -> dict:
    """Name, version, category and provider from the manifest, or the problem."""
    from pepperpy.bundle.verify import read_manifest
    from pepperpy.core import PepperpyError

    try:
        manifest = read_manifest(path)
    except PepperpyError as exc:
        return {"problem": str(exc)}
    except OSError as exc:
        return {"problem": f"cannot read: {exc.strerror or exc}"}
    return {
        "name": manifest.name,
        "version": str(manifest.version),
        "category": manifest.category,
        "provider_name": manifest.provider_name,
    }


def _found(item: dict, *, path: str, source: str, order: int) -> Found:
    fields = {k: item.get(k) for k in ("name", "version", "category", "provider_name", "problem")}
    return Found(path=path, source=source, order=order, **fields)


def _load_index(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _INDEX_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _save_index(path: Path, entries: dict[str, dict]) -> None:
    """Best effort: a read-only home still discovers, just without the cache."""
    data = json.dumps({"format": _INDEX_FORMAT, "entries": entries}, separators=(",", ":"))
    try:
        atomic_write(path, data.encode())
    except OSError:
        pass


def as_dict(found: Found) -> dict:
    return asdict(found)
