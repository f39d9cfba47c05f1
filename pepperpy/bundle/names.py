"""Which entry names and file types a bundle may hold.

Invariants enforced here (the reader and the builder both call these):

* a name is ASCII from ``[A-Za-z0-9._/-]``, at most ``max_name_length`` bytes, relative,
  with no empty, ``.`` or ``..`` segment and no segment starting with ``.`` (so no
  hidden files, no zip slip, no backslash or NUL tricks, nothing Unicode can normalise);
* names are unique even ignoring case, and no name is both a file and a folder;
* a file is ``plugin.json`` (root only), Python source ``*.py``, a data file with an
  allowed extension, or a known extension-less text file (LICENSE, README, ...);
  bytecode, native libraries, ``.pth`` and nested archives never are;
* nothing shadows a signed module: a module ``m.py`` beside a package folder ``m/`` is
  refused, so zipimport's search order (``m/__init__.pyc``, ``m/__init__.py``,
  ``m.pyc``, ``m.py``) has exactly one candidate for every module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pepperpy.bundle.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "CODE_EXTENSIONS",
    "DATA_EXTENSIONS",
    "EXTENSIONLESS_NAMES",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "check_layout",
    "file_kind",
    "name_problem",
]

MANIFEST_NAME = "plugin.json"
SIGNATURE_NAME = ".pepperpy-signature"
CODE_EXTENSIONS = frozenset({".py"})
DATA_EXTENSIONS = frozenset(
    {".json", ".txt", ".md", ".csv", ".tsv", ".toml", ".yaml", ".yml",
     ".onnx", ".model", ".bin", ".vocab", ".gguf"}
)
EXTENSIONLESS_NAMES = frozenset({"LICENSE", "README", "NOTICE", "COPYING", "py.typed"})
_NAME_CHARS = re.compile(r"[A-Za-z0-9._/-]+")


def name_problem(name: str, *, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Return why ``name`` is not a safe entry name, or None when it is."""
    if not name:
        return "empty entry name"
    if len(name) > limits.max_name_length:
        return f"entry name longer than {limits.max_name_length} bytes"
    if not _NAME_CHARS.fullmatch(name):
        return (
            f"entry name {name!r} has characters outside [A-Za-z0-9._/-] "
            "(no backslash, NUL, spaces or non-ASCII)"
        )
    if name == SIGNATURE_NAME:
        return None
    segments = name.split("/")
    if len(segments) > limits.max_name_depth:
        return f"entry name {name!r} is deeper than {limits.max_name_depth} folders"
    for segment in segments:
        if segment == "":
            return f"entry name {name!r} is absolute or has an empty segment"
        if segment in (".", ".."):
            return f"entry name {name!r} has a '{segment}' segment (path traversal)"
        if segment.startswith("."):
            return f"entry name {name!r} has a hidden segment {segment!r}"
    return None


def file_kind(name: str) -> str | None:
    """``"manifest"``, ``"code"`` or ``"data"`` for an allowed file, None otherwise."""
    if name == MANIFEST_NAME:
        return "manifest"
    base = name.rsplit("/", 1)[-1]
    if base in EXTENSIONLESS_NAMES:
        return "data"
    dot = base.rfind(".")
    if dot <= 0:
        return None
    ext = base[dot:].lower()
    if ext in CODE_EXTENSIONS and base[dot:] == ext:
        return "code"
    if ext in DATA_EXTENSIONS:
        return "data"
    return None


def check_layout(names: Iterable[str]) -> str | None:
    """Return why this set of plugin file names is unsafe together, or None.

    ``names`` excludes the signature entry. Checks file types, case-insensitive
    uniqueness, file/folder clashes and module shadowing.
    """
    names = list(names)
    lowered: dict[str, str] = {}
    folders: set[str] = set()
    for name in names:
        if file_kind(name) is None:
            return (
                f"file {name!r} is not an allowed type (allowed: plugin.json, *.py, "
                f"{', '.join(sorted(DATA_EXTENSIONS))}, {', '.join(sorted(EXTENSIONLESS_NAMES))})"
            )
        low = name.lower()
        if low in lowered:
            return f"entries {lowered[low]!r} and {name!r} differ only by case"
        lowered[low] = name
        parts = low.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    for low, name in lowered.items():
        if low in folders:
            return f"{name!r} is both a file and a folder"
        if low.endswith(".py") and low[:-3] in folders:
            return (
                f"module {name!r} is shadowed by package folder {name[:-3] + '/'!r}; "
                "keep only one of them"
            )
    return None
