"""The walk ``add_files`` makes (``collect``): files as given, folders recursively in
sorted order, names starting with "." skipped, a link to a folder followed once (a loop
reported, not followed). A leaf module: ``ingest`` reads what it finds, and
``rag_remove`` matches a folder by what a walk of it reaches now (and by where its
broken links led: :func:`broken_links`). :func:`path_list` checks what a caller passed
as paths before anything starts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pepperpy.core import ValidationError

__all__ = ["Skipped", "broken_links", "collect", "gone", "one_is_there", "os_reason",
           "path_list"]


@dataclass(frozen=True)
class Skipped:
    """A file (or folder entry) that was not ingested, and why."""

    path: str
    reason: str


def path_list(paths: Any, caller: str) -> list[str]:
    """``paths`` as a list of ``str``, or a ``ValidationError`` that says what to pass:
    a lone path (wrap it in a list), ``bytes`` (decode it), a NUL in a path, anything
    else."""
    fix = "pass a list of file and folder paths as str or pathlib.Path"
    if isinstance(paths, str | bytes | os.PathLike):
        raise ValidationError(f"{caller}() takes a list of file and folder paths, got one "
                              f"path ({paths!r}); wrap it in a list: [{paths!r}]")
    if not isinstance(paths, Sequence):
        raise ValidationError(f"{caller}() takes a list of file and folder paths, got "
                              f"{type(paths).__name__}; {fix}")
    out = []
    for raw in paths:
        try:
            path = os.fspath(raw)
        except TypeError:
            path = None
        if isinstance(path, str) and "\0" not in path:
            out.append(path)
            continue
        if isinstance(path, str):  # the OS would raise a bare ValueError at the first stat
            raise ValidationError(f"{caller}(): {raw!r} holds a NUL character, which no file "
                                  "or folder name can; pass the path without it")
        hint = f"decode it first ({raw!r}.decode())" if isinstance(raw, bytes) else fix
        raise ValidationError(f"{caller}(): {raw!r} is not a path PepperPy takes "
                              f"({type(raw).__name__}); {hint}")
    return out


def one_is_there(paths: list[str], caller: str = "add_files()") -> None:
    """Refuse an ``add_files`` none of whose paths is there, before a model loads or a
    provider is looked up: a mistyped path is the error worth reporting first. (With
    some paths there, the missing ones are skipped and named as usual.)"""
    if paths and not any(os.path.lexists(path) for path in paths):
        more = f"; and {len(paths) - 1} more" if len(paths) > 1 else ""
        raise ValidationError(
            f"{caller} could not read any of the {len(paths)} paths given ({paths[0]}: "
            f"no such file or folder{more}); check the path and the working folder")


def collect(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[Skipped]]:
    """Every file under ``paths`` (files as given, folders walked), and what was skipped."""
    files: dict[str, Path] = {}
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw)
        try:
            real = Path(os.path.realpath(path, strict=True))
        except (OSError, RuntimeError) as exc:
            skipped.append(Skipped(str(path), os_reason(exc, "cannot be opened")))
            continue
        if real.is_dir():
            _walk(path, real, {str(real)}, files, skipped)
        else:
            files.setdefault(str(real), path)
    return list(files.values()), skipped


def _walk(
    shown: Path, real: Path, ancestors: set[str], files: dict[str, Path], skipped: list[Skipped]
) -> None:
    try:
        entries = sorted(os.scandir(real), key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(shown), os_reason(exc, "folder cannot be listed")))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        where = shown / entry.name
        try:
            target = os.path.realpath(entry.path, strict=True)
            is_dir = os.path.isdir(target)
        except (OSError, RuntimeError) as exc:
            skipped.append(Skipped(str(where), os_reason(exc, "cannot be opened")))
            continue
        if is_dir:
            if target in ancestors:
                skipped.append(Skipped(str(where), f"symlink loop: leads back to {target}"))
                continue
            _walk(where, Path(target), ancestors | {target}, files, skipped)
        elif os.path.isfile(target):
            files.setdefault(target, where)


def broken_links(skipped: Sequence[Skipped]) -> list[str]:
    """Where the links among ``skipped`` led, for those whose target is gone: the
    resolved path ``add_files`` stored what it read through one under (its target, or a
    folder holding what it read there)."""
    found = []
    for item in skipped:
        if os.path.islink(item.path):
            target = os.path.realpath(item.path)
            if gone(target):
                found.append(target)
    return found


def gone(path: str) -> bool:
    """The file is not there any more (its name, or a folder on its way, no longer
    exists); one that cannot be looked at now is not gone."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def os_reason(exc: BaseException, what: str) -> str:
    """Why ``exc`` kept a file or folder out, in words a user reads."""
    if isinstance(exc, OSError) and exc.errno == 40:  # ELOOP
        return "symlink loop: the link points (through others) at itself"
    if isinstance(exc, FileNotFoundError):
        return "no such file (or a broken symlink)"
    return f"{what} ({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc})"
