"""Installed distributions by name, read from ``*.dist-info`` folder names on sys.path.

``importlib.metadata.version()`` opens and email-parses a METADATA file per call; the
dependency check only needs name and version, which installers (pip, uv) also write
into the folder name ``{name}-{version}.dist-info`` (the binary distribution format:
name with ``-`` escaped to ``_``, version normalised). One ``listdir`` per sys.path
folder answers every requirement.

Invariants:
- The index only answers "installed, version V" for a name it found exactly once, in
  the first sys.path folder that has it (importlib.metadata's order), with a version
  that parses as PEP 440. A name it did not find, an ``.egg-info`` or a second
  ``.dist-info`` for one name, and an unparsable folder name are left to
  importlib.metadata. A sys.path entry that is a file (a zip) or an ``.egg``, or a
  ``sys.meta_path``
  finder other than the standard ``PathFinder`` that can find distributions, turns
  the index off: importlib.metadata answers everything.
- Cached per process, keyed by each sys.path entry and its mtime_ns (installing or
  removing a distribution adds or removes a folder, which changes the mtime). A folder
  modified within the last two seconds is never cached (coarse mtime clocks could
  hide a second change in the same tick), and :func:`invalidate` drops the cache
  (``dependencies`` calls it around uv, as it calls ``importlib.invalidate_caches``).
"""

from __future__ import annotations

import os
import re
import sys
import time
from functools import lru_cache

__all__ = ["DistIndex", "canonical_name", "current", "invalidate"]

_SEPARATORS = re.compile(r"[-_.]+")
# Version as the wheel spec writes it into file names (PEP 440, normalised, "-" -> "_").
_VERSION = re.compile(r"[0-9]+(?:!?[0-9]+)?(?:[._+a-zA-Z0-9]*)")
_RACY_NS = 2_000_000_000


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return _SEPARATORS.sub("-", name).lower()


class DistIndex:
    """Name -> version for the distributions the index can vouch for.

    A plain class, not a dataclass: on Python 3.11 creating a frozen dataclass costs
    about 0.6 ms, paid by every process that loads a plugin.
    """

    __slots__ = ("folders", "key", "racy", "versions")

    def __init__(self, versions: dict[str, str], key: tuple[tuple[str, int], ...],
                 racy: bool, folders: dict[str, str] | None = None) -> None:
        self.versions, self.key, self.racy = versions, key, racy
        self.folders = folders or {}

    def version(self, name: str) -> str | None:
        """The version of ``name`` if the index is sure of it, else None (ask elsewhere)."""
        found = self.versions.get(canonical_name(name))
        return found if found is not None and _is_pep440(found) else None

    def folder(self, name: str) -> str | None:
        """The ``.dist-info`` folder importlib.metadata reads for ``name``, if the index
        is sure of the version (see :meth:`version`), else None."""
        return self.folders.get(canonical_name(name)) if self.version(name) else None


_cached: DistIndex | None = None


def invalidate() -> None:
    """Forget the cached index (after an install in this process)."""
    global _cached
    _cached = None


def current() -> DistIndex | None:
    """The index for the current sys.path, or None when it must not be used."""
    global _cached
    from pepperpy.plugins.depcache import other_distribution_finders

    if other_distribution_finders():
        return None
    key = _path_key()
    if key is None:
        return None
    cached = _cached
    if cached is not None and cached.key == key and not cached.racy:
        return cached
    index = _build(key)
    _cached = index
    return index


def _path_key() -> tuple[tuple[str, int], ...] | None:
    """(folder, mtime_ns) per sys.path entry that exists; None if one is a file."""
    key = []
    for entry in sys.path:
        if not isinstance(entry, str):
            return None
        folder = entry or "."
        try:
            st = os.stat(folder)
        except OSError:
            continue  # missing entries hold no distributions (as for importlib.metadata)
        if not os.path.isdir(folder) or folder.lower().rstrip("/\\").endswith(".egg"):
            return None  # a zip or an egg on sys.path: leave it to importlib.metadata
        key.append((os.path.abspath(folder), st.st_mtime_ns))
    return tuple(key)


def _build(key: tuple[tuple[str, int], ...]) -> DistIndex:
    now = time.time_ns()
    versions: dict[str, str] = {}
    folders: dict[str, str] = {}
    decided: set[str] = set()  # names an earlier folder answered, or that are unclear
    racy = False
    for folder, mtime in key:
        racy = racy or now - mtime < _RACY_NS
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        here: dict[str, str | None] = {}
        where: dict[str, str] = {}
        for name in names:
            lower = name.lower()
            if lower.endswith(".dist-info"):
                project, version = _parse(name[: -len(".dist-info")])
            elif lower.endswith(".egg-info"):
                project, version = _parse(name[: -len(".egg-info")])
                version = None  # legacy metadata: let importlib.metadata read it
            else:
                continue
            if not project:
                return DistIndex({}, key, True)  # unparsable: trust nothing, cache nothing
            # Two records for one name in one folder: which one importlib.metadata
            # returns depends on listdir order, so let it decide.
            here[project] = None if project in here else version
            where[project] = name
        for project, version in here.items():
            if project in decided:
                continue
            decided.add(project)
            if version is not None:
                versions[project] = version
                folders[project] = os.path.join(folder, where[project])
    return DistIndex(versions, key, racy, folders)


_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")  # "1.40.2": valid PEP 440 as written


@lru_cache(maxsize=4096)
def _is_pep440(version: str) -> bool:
    if _RELEASE.fullmatch(version):
        return True  # no packaging import for what most installed versions look like
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def _parse(stem: str) -> tuple[str, str | None]:
    """(canonical name, version) from ``name-version``; version None if not certain.

    The name is split off as importlib.metadata does (up to the first ``-``).
    """
    name, sep, version = stem.partition("-")
    project = canonical_name(name)
    if not sep or "-" in version or not _VERSION.fullmatch(version):
        return project, None
    return project, version  # checked as PEP 440 when looked up (DistIndex.version)
