"""Which command groups the installed distributions declare, read without
``importlib.metadata``: what `pepperpy --help` needs to list them.

The top-level help names every group and, for one the project does not describe, the
distribution it comes from; it loads none. ``importlib.metadata`` (with ``email``,
``zipfile``, ``shutil``, ``csv``...) costs more than the rest of that command, so
:func:`command_origins` reads the same files the same way, in the same order: each
``sys.path`` folder's ``*.dist-info``/``*.egg-info`` folders (grouped by normalized name
in listing order, the first of a name on the path wins), their ``entry_points.txt``
(``[group]`` sections, ``name = value`` lines, ``#`` comments) and, for the origin, the
``Name`` field of ``METADATA``. Anything it does not read as Python 3.11's
``importlib.metadata`` would (a zip or an ``.egg`` on the path, another distribution
finder, a line it cannot parse) makes it answer ``None``: the caller then asks
``importlib.metadata``. ``tests/core/test_cli_groups.py`` compares the two.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["command_origins"]

_SUFFIXES = (".dist-info", ".egg-info")


def command_origins(group: str) -> dict[str, str] | None:
    """Each command group declared in entry point group ``group`` and the name of the
    distribution of its first entry point (by name), as ``importlib.metadata`` would
    give them; ``None`` where this reading might differ from it."""
    import importlib.machinery

    for finder in sys.meta_path:
        if (getattr(finder, "find_distributions", None) is not None
                and finder is not importlib.machinery.PathFinder):
            return None
    seen: set[str] = set()
    first: dict[str, tuple[str, str]] = {}  # entry point name -> (group, its dist folder)
    for entry in sys.path:
        folders = _dist_folders(entry or ".")
        if folders is None:
            return None
        for key, folder in folders:
            if key in seen:
                continue
            seen.add(key)
            names = _entry_points(folder, group)
            if names is None:
                return None
            for name in names:
                first.setdefault(name, (name.split(".", 1)[0], folder))
    origins: dict[str, str] = {}
    for name in sorted(first):
        command, folder = first[name]
        if command not in origins:
            dist = _dist_name(folder)
            if dist is None:
                return None
            origins[command] = f"commands from {dist}"
    return origins


def _dist_folders(root: str) -> list[tuple[str, str]] | None:
    """``(normalized name, path)`` of the distributions in folder ``root``, in the
    order ``importlib.metadata`` visits them; ``None`` for a path entry it reads
    otherwise (a zip file, an ``.egg``)."""
    try:
        children = os.listdir(root)
    except OSError:
        return None if os.path.isfile(root) else []
    if os.path.basename(root).lower().endswith(".egg"):
        return None
    grouped: dict[str, list[str]] = {}
    for child in children:
        low = child.lower()
        if low.endswith(_SUFFIXES):
            if not child.endswith(_SUFFIXES):  # its name then comes from METADATA
                return None
            grouped.setdefault(_normalize(low.rpartition(".")[0].partition("-")[0]),
                               []).append(os.path.join(root, child))
    found = []
    for paths in grouped.values():
        for path in paths:
            key = _normalize(os.path.splitext(os.path.basename(path))[0].partition("-")[0])
            if not key:  # its name then comes from METADATA
                return None
            found.append((key, path))
    return found


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None


def _entry_points(folder: str, group: str) -> list[str] | None:
    """The entry point names in ``group`` of ``entry_points.txt`` in ``folder``."""
    text = _read(os.path.join(folder, "entry_points.txt"))
    if text is None:
        return []
    names, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue
        if "=" not in line:
            return None  # importlib.metadata raises: let it
        if section == group:
            names.append(line.split("=", 1)[0].strip())
    return names


def _dist_name(folder: str) -> str | None:
    """The ``Name`` field of the distribution's metadata (its first header block)."""
    text = _read(os.path.join(folder, "METADATA")) or _read(os.path.join(folder, "PKG-INFO"))
    for line in (text or "").splitlines():
        if not line.strip():
            break
        field, sep, value = line.partition(":")
        if sep and field.lower() == "name":
            return value.strip()
    return None
