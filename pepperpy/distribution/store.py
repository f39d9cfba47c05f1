"""The client's configured indexes, under ``PEPPERPY_HOME/indexes/``::

    indexes.json              {"version": 1, "indexes": {NAME: {"url", "added_at"}}}
    NAME/root.json            the root the operator pinned (``index add --root``)
    NAME/metadata/            ngclient's cache: root history, timestamp, snapshot, targets
    NAME/catalog.json         offers from the last verified refresh (search reads it)
    spool/                    private temporary downloads (mode 0700)

Invariants:
- the pinned root is the trust anchor of every refresh, never a root fetched on first
  use; later roots are only those ngclient verified from it (``metadata/root_history``);
- an index is recorded only after its first refresh verified: ``index add`` builds the
  folder under a temporary name and renames it into place;
- changes to ``indexes.json`` and refreshes take an exclusive lock (``.lock``): ngclient
  supports one process per metadata folder at a time;
- every state file here is read bounded (size, nesting) and refused by name when
  damaged; the catalog is a cache, so a damaged one is only a miss; a crash's staging
  folders and spool downloads are removed by the next ``index`` change or refresh, or
  by ``pepperpy plugin doctor --fix``.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pepperpy._record import record
from pepperpy.core import ConfigurationError, StateError, ValidationError
from pepperpy.fsio import (
    atomic_write,
    crash_point,
    ensure_folder,
    file_lock,
    is_temp_name,
    load_json,
    read_state,
    refuse_deep,
    remove_file,
    remove_lock,
    state_error,
)
from pepperpy.settings import Settings

__all__ = ["IndexConfig", "IndexStore", "check_index_name", "check_url"]

_INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# What the store keeps beside the index folders (the rest starts with "."): an index
# with one of these names would overwrite it or be overwritten.
RESERVED_NAMES = frozenset({"indexes.json", "spool"})
STORE_VERSION = 1
ROOT_LIMIT = 512_000  # as ``index add --root`` allows
# ngclient's own download limits (UpdaterConfig): a cached file is never larger
_CACHE_LIMITS = {"root": ROOT_LIMIT, "timestamp": 16_384, "snapshot": 2_000_000,
                 "targets": 5_000_000}
CATALOG_LIMIT = 32 << 20


@record
class IndexConfig:
    name: str
    url: str
    added_at: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata/"

    @property
    def targets_url(self) -> str:
        return f"{self.url}/targets/"


def check_index_name(name: str) -> str:
    if not _INDEX_NAME.fullmatch(name):
        raise ValidationError(
            f"index name {name[:70]!r} must be 1-64 lowercase letters, digits, '.', '_' or "
            "'-' (e.g. `main`)"
        )
    if name in RESERVED_NAMES:
        raise ValidationError(
            f"index name {name!r} is reserved (the store keeps a file or folder of that "
            "name beside the indexes); choose another name, e.g. `main`"
        )
    return name


def check_url(url: str) -> str:
    """An http(s) or file URL without query or fragment; no trailing slash."""
    try:
        parts = urlsplit(url.strip())
        bad = parts.scheme not in ("http", "https", "file") or bool(
            parts.query or parts.fragment) or (
            parts.scheme != "file" and not parts.netloc
        ) or (parts.scheme == "file" and not parts.path.startswith("/"))
    except ValueError:  # e.g. "http://[bad": an unclosed IPv6 bracket
        bad = True
    if bad:
        raise ValidationError(
            f"{url[:100]!r} is not an index URL: use http://, https:// or file:///path, "
            "the folder that holds metadata/ and targets/"
        )
    return url.strip().rstrip("/")


class IndexStore:
    """Read and change the configured indexes of one PEPPERPY_HOME."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.home / "indexes"
        self.file = self.folder / "indexes.json"

    # -- reading ----------------------------------------------------------------

    def list(self) -> list[IndexConfig]:
        """The indexes in the operator's order: the first one that lists a provider slot
        is the one it is installed from (``pepperpy index order``)."""
        return [*self._load().values()]

    def reorder(self, first: builtins.list[str]) -> builtins.list[IndexConfig]:
        """Put the indexes named in ``first`` ahead of the others, in that order."""
        with self.locked():
            entries = self._load()
            for name in first:
                self.get(name)
            if len(set(first)) != len(first):
                raise ValidationError("name each index once")
            rest = [n for n in entries if n not in first]
            entries = {n: entries[n] for n in [*first, *rest]}
            self._save(entries)
        return [*entries.values()]

    def get(self, name: str) -> IndexConfig:
        found = self._load().get(name)
        if found is None:
            names = ", ".join(sorted(self._load())) or "none"
            raise ConfigurationError(
                f"no index named {name!r} (configured: {names}); add one with "
                "`pepperpy index add NAME URL --root ROOT.json`"
            )
        return found

    def _load(self) -> dict[str, IndexConfig]:
        fix = ("fix it, or remove it and add the indexes again with `pepperpy index add` "
               "(their pinned roots stay in their folders)")
        data = load_json(self.file, what="index configuration", fix=fix, limit=1 << 20,
                         depth=8)
        if data is None:
            return {}
        try:
            entries = data["indexes"]
            if data.get("version") != STORE_VERSION or not isinstance(entries, dict):
                raise ValueError
            found = {
                check_index_name(n): IndexConfig(n, check_url(e["url"]), str(e["added_at"]))
                for n, e in entries.items()
            }
            order = data.get("order")
            if not isinstance(order, list) or sorted(order) != sorted(found):
                order = sorted(found, key=lambda n: (found[n].added_at, n))  # oldest first
            return {n: found[n] for n in order}
        except (ValueError, KeyError, TypeError, ValidationError):
            raise ConfigurationError(
                f"{self.file} is corrupt; fix it or remove it and add the indexes again "
                "with `pepperpy index add`"
            ) from None

    def index_dir(self, name: str) -> Path:
        return self.folder / check_index_name(name)

    def pinned_root(self, name: str, folder: Path | None = None) -> bytes:
        """The root the operator pinned (in ``folder``, default the index's own);
        damage here is local, never the server's fault."""
        path = (folder or self.index_dir(name)) / "root.json"
        fix = (f"this is local damage, not the index's fault: remove the index (`pepperpy "
               f"index remove {name}`) and add it again with the root file you trust")
        data = read_state(path, what=f"pinned root of index {name!r}", limit=ROOT_LIMIT,
                          fix=fix)
        if data is None:
            raise state_error(path, f"(the pinned root of index {name!r}) is missing", fix)
        refuse_deep(data, path=path, what=f"pinned root of index {name!r}", fix=fix)
        return data

    def check_cached_metadata(self, name: str, folder: Path) -> None:
        """Refuse, by name, cached metadata that is not a plain file or is larger than
        ngclient would ever have downloaded (it reads these files whole). Invalid
        content is ngclient's to judge: it ignores it and downloads again."""
        fix = (f"remove it; the next refresh of index {name!r} downloads it again "
               "(`pepperpy plugin search --refresh`)")
        files = [folder / f"{role}.json" for role in _CACHE_LIMITS]
        with contextlib.suppress(OSError):
            files += sorted((folder / "root_history").iterdir())
        for path in files:
            role = path.name.split(".")[-2]
            limit = _CACHE_LIMITS.get(role, _CACHE_LIMITS["root"])
            data = read_state(path, what=f"cached {role} metadata of index {name!r}",
                              limit=limit, fix=fix)
            if data is not None:
                refuse_deep(data, path=path, what=f"cached {role} metadata", fix=fix)

    @property
    def spool_dir(self) -> Path:
        return self.folder / "spool"

    # -- catalog ----------------------------------------------------------------

    def save_catalog(self, name: str, offers: builtins.list[dict[str, Any]], *,
                     folder: Path | None = None) -> None:
        """The offers of the refresh that just verified (in ``folder``, default the
        index's own: ``index add`` writes its staging folder before recording it)."""
        data = json.dumps({"refreshed_at": time.time(), "offers": offers}).encode()
        atomic_write((folder or self.index_dir(name)) / "catalog.json", data, mode=0o600,
                     root=self.settings.home, durable=False)  # a cache: rebuilt if damaged

    def load_catalog(self, name: str, *, max_age: float
                     ) -> builtins.list[dict[str, Any]] | None:
        """Offers from the last refresh if younger than ``max_age`` seconds, else None
        (a damaged catalog is a cache: the next refresh rebuilds it)."""
        try:
            return self.read_catalog(name, max_age=max_age)
        except StateError:
            return None

    def read_catalog(self, name: str, *, max_age: float
                     ) -> builtins.list[dict[str, Any]] | None:
        """As :meth:`load_catalog`, but a damaged catalog (unreadable, not JSON, or of
        another shape) raises ``StateError`` instead of reading as missing: a hint may
        then say so. The rows themselves are checked by ``catalog.offer_from_row``."""
        fix = "`pepperpy plugin search --refresh` rebuilds it"
        path = self.index_dir(name) / "catalog.json"
        data = load_json(path, what="cached catalog", fix=fix, limit=CATALOG_LIMIT, depth=8)
        if data is None:
            return None
        when: Any = data.get("refreshed_at") if isinstance(data, dict) else None
        offers = data.get("offers") if isinstance(data, dict) else None
        if type(when) not in (int, float) or not isinstance(offers, list):
            raise state_error(path, "(the cached catalog) is not a catalog (damaged)", fix)
        try:
            age = time.time() - float(when)
        except OverflowError:  # an integer too large for a float
            raise state_error(path, "(the cached catalog) has no usable time (damaged)",
                              fix) from None
        return None if not age <= max_age else offers

    def metadata_expiry(self, name: str) -> str | None:
        """When the index's verified local metadata (timestamp, snapshot, targets)
        expires, as ``YYYY-MM-DDTHH:MM:SSZ``; None if missing or already expired."""
        from datetime import UTC, datetime

        from tuf.api.metadata import Metadata

        folder = self.index_dir(name) / "metadata"
        try:
            expiries = [Metadata.from_bytes((folder / f"{role}.json").read_bytes()).signed
                        .expires for role in ("timestamp", "snapshot", "targets")]
        except Exception:  # missing, unreadable or not metadata (DeserializationError)
            return None
        first = min(expiries)
        if first <= datetime.now(UTC):
            return None
        return first.strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- changing ---------------------------------------------------------------

    def locked(self) -> AbstractContextManager[None]:
        """The store's exclusive lock: index records change one process at a time."""
        return file_lock(self.folder / ".lock")

    def missing_folders(self) -> builtins.list[Path]:
        """The store's folder and those above it that do not exist yet, deepest first."""
        return [p for p in (self.folder, *self.folder.parents) if not p.exists()]

    def forget_folders(self, created: builtins.list[Path]) -> None:
        """Undo what a failed first change created only to take the lock (the caller
        holds it): the lock file, then each of ``created`` left empty."""
        if created:
            remove_lock(self.folder / ".lock",
                        folders=[self.spool_dir, *created])

    def staging_dir(self, name: str) -> Path:
        """A fresh private folder to build an index in before it is recorded."""
        import tempfile

        ensure_folder(self.folder, root=self.settings.home)
        return Path(tempfile.mkdtemp(dir=self.folder, prefix=f".adding-{name}-"))

    def record(self, name: str, url: str, staged: Path) -> IndexConfig:
        """Move a verified staging folder into place and record it (under the lock)."""
        from datetime import UTC, datetime

        entries = self._load()
        if name in entries:
            raise ConfigurationError(
                f"an index named {name!r} already exists; remove it first with "
                f"`pepperpy index remove {name}`"
            )
        target = self.index_dir(name)
        if target.exists() or target.is_symlink():
            crash_point(f"remove {target}")
            _remove_tree(target)  # a leftover of a removed index
        crash_point(f"rename {staged}")
        os.replace(staged, target)
        added = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries[name] = IndexConfig(name, url, added)
        self._save(entries)
        return entries[name]

    def forget(self, name: str) -> None:
        """Undo :meth:`record` for a command that failed after it (the caller holds the
        lock): the entry and its folder go; a store left with none is no store at all."""
        entries = self._load()
        entries.pop(name, None)
        if entries:
            self._save(entries)
        else:
            remove_file(self.file)
        _remove_tree(self.index_dir(name))

    def remove(self, name: str) -> IndexConfig:
        self.get(name)  # refused before the lock: an unknown name creates nothing
        with self.locked():
            entries = self._load()
            config = self.get(name)
            del entries[name]
            self._save(entries)
            crash_point(f"remove {self.index_dir(name)}")
            _remove_tree(self.index_dir(name))
        return config

    def _save(self, entries: dict[str, IndexConfig]) -> None:
        data = {"version": STORE_VERSION, "indexes": {
            c.name: {"url": c.url, "added_at": c.added_at} for c in entries.values()
        }, "order": [*entries]}
        atomic_write(self.file, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n",
                     mode=0o600, root=self.settings.home)

    def leftovers(self) -> builtins.list[Path]:
        """What a crash left: staging folders of ``index add`` and temp files (only
        ever in use under the store lock, which the caller holds), and spool folders
        whose process is gone (a live one holds a lock on its folder)."""
        found = []
        with contextlib.suppress(OSError):
            found += [Path(e.path) for e in os.scandir(self.folder)
                      if e.name.startswith(".adding-") or is_temp_name(e.name)]
        with contextlib.suppress(OSError):
            found += [Path(e.path) for e in os.scandir(self.spool_dir) if not _in_use(e)]
        with contextlib.suppress(OSError):  # catalogs' and ngclient's (under this lock)
            found += [p for p in self.folder.glob("*/.*.tmp") if is_temp_name(p.name)]
            found += [p for p in self.folder.glob("*/metadata/tmp*") if p.is_file()]
        return sorted(found)

    def clean(self) -> builtins.list[Path]:
        """Remove :meth:`leftovers` (caller holds the store lock); returns them."""
        found = self.leftovers()
        for path in found:
            _remove_tree(path)
        return found


def _in_use(entry: os.DirEntry[str]) -> bool:
    """A spool folder whose owner still holds its lock (``fetch.private_folder``)."""
    import fcntl

    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False  # a file or a link: spool holds only folders in use
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_tree(path: Path) -> None:
    """Remove a file, a link or a folder (never following a link out of it)."""
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
