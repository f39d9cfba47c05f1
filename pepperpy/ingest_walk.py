"""The walk ``add_files`` makes (``collect``): files as given, folders recursively in
sorted order, names starting with "." skipped, a link to a folder followed once (a loop
reported, not followed). A leaf module: ``ingest`` reads what it finds, and
``rag_remove`` matches a folder by what a walk of it reaches now.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Skipped", "collect", "os_reason"]


@dataclass(frozen=True)
class Skipped:
    """A file (or folder entry) that was not ingested, and why."""

    path: str
    reason: str


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


def os_reason(exc: BaseException, what: str) -> str:
    """Why ``exc`` kept a file or folder out, in words a user reads."""
    if isinstance(exc, OSError) and exc.errno == 40:  # ELOOP
        return "symlink loop: the link points (through others) at itself"
    if isinstance(exc, FileNotFoundError):
        return "no such file (or a broken symlink)"
    return f"{what} ({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc})"
