"""What a verified plugin needs from the environment, and a memo of the checks that found
it met, valid only while the environment is unchanged.

``DependencySpec`` (with its ``LockedRequirement`` pins) is plain data, built by the plugin
manager from a *verified* manifest only; checked and installed by ``dependencies``
(imported only when the memo cannot answer, so a load whose dependencies are known to be
met never imports it). It lives here because every load needs it and the memo: one module
to import instead of two.

Why: checking a requirement with extras or a marker (``psycopg[binary,pool]>=3.1``)
needs ``packaging`` and ``importlib.metadata``, about 40 ms per process, and even a
plain one lists every ``sys.path`` folder; the answer only changes when a distribution
is installed, removed or changed, or the interpreter is another one.

Invariants:
- Only "every requirement and lock pin is met" is remembered; a miss runs the full
  check (``dependencies.find_unsatisfied``), and an unmet requirement is never memoised.
- An entry's key is the exact requirement and pin lines, the interpreter (executable,
  ``sys.version``, implementation, platform and ``os.uname()``: every PEP 508 marker
  variable derives from them) and the identity (device, inode, mtime_ns, ctime_ns) of
  every ``sys.path`` entry, missing ones included. Installing, removing, upgrading or
  downgrading a distribution adds or removes a ``.dist-info`` folder in its ``sys.path``
  folder, which moves that folder's ctime (no tool can set a ctime back). A requirement
  with extras also records the identity of the ``.dist-info`` folder and METADATA file
  its extras' requirements were read from; each is checked on every hit.
- Written only when the check answered everything from ``.dist-info`` folder names and
  METADATA files (the dist index), never from an ``importlib.metadata`` fallback
  (egg-info, zips, other finders), and never when any identity it rests on changed
  within the last two seconds (a coarse clock could hide a second change in the same
  tick). A ``sys.path`` entry that is a file or an egg, or another distribution finder
  on ``sys.meta_path``: no memo.
- Best effort: a missing, damaged or foreign memo file is a miss; writes are atomic,
  bounded (the newest entries win) and never fail a load. Whoever can write it could
  only make a load fail later at import (a missing module), never load other code: it
  holds no trust decision.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pepperpy import _jsonio as json  # json.loads/dumps without importing json
from pepperpy._record import field, record
from pepperpy._sha import sha256
from pepperpy.settings import Settings

__all__ = ["DependencySpec", "Environment", "LockedRequirement", "already_met", "environment",
           "memo_path", "other_distribution_finders", "remember_met", "remembered"]


@record
class LockedRequirement:
    """One exact pin from a signed manifest's dependency lock."""

    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>"
    marker: str | None = None

    def line(self) -> str:
        hashes = "".join(f" --hash={h}" for h in self.hashes)
        return f"{self.pin()}{hashes}"

    def pin(self) -> str:
        marker = f" ; {self.marker}" if self.marker else ""
        return f"{self.name}=={self.version}{marker}"


@record
class DependencySpec:
    """What one verified plugin needs from the environment."""

    plugin: str
    requirements: tuple[str, ...] = ()
    lock: tuple[LockedRequirement, ...] = ()
    source_builds: frozenset[str] = field(default_factory=frozenset)

    def needs(self) -> tuple[str, ...]:
        """Every requirement string: the ranges and the exact lock pins."""
        return (*self.requirements, *(p.pin() for p in self.lock))

_FORMAT = 1
_MAX_ENTRIES = 256
_MAX_BYTES = 1 << 20
_RACY_NS = 2_000_000_000

Identity = tuple[int, int, int, int]  # device, inode, mtime_ns, ctime_ns


def memo_path(settings: Settings) -> Path:
    return settings.cache_dir / "dependencies-met.json"


class Environment:
    """The interpreter and the identities of its ``sys.path`` entries, taken once
    before a check (a change during the check then never matches)."""

    __slots__ = ("newest", "text")

    def __init__(self, text: str, newest: int) -> None:
        self.text, self.newest = text, newest

    def key(self, lines: Sequence[str]) -> str:
        return sha256(json.dumps([list(lines), self.text]).encode()).hexdigest()


def environment() -> Environment | None:
    """This process's environment, or None when it cannot be memoised."""
    if other_distribution_finders():
        return None
    entries: list[object] = []
    newest = 0
    for entry in sys.path:
        if not isinstance(entry, str):
            return None
        folder = os.path.abspath(entry or ".")
        try:
            st = os.stat(folder)
        except OSError:
            entries.append([folder, None])  # created later: another environment
            continue
        if not stat.S_ISDIR(st.st_mode) or folder.lower().rstrip("/\\").endswith(".egg"):
            return None
        entries.append([folder, _identity(st)])
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    interpreter = [sys.executable, sys.version, sys.implementation.name, sys.platform,
                   os.name, list(os.uname())]
    return Environment(json.dumps([interpreter, entries]), newest)


def already_met(spec: DependencySpec, settings: Settings) -> bool:
    """True if ``spec`` has nothing to check, or was found met in this very environment
    (then recorded for the host's protection as a full check would, ``deprecord``)."""
    if not spec.requirements and not spec.lock:
        return True
    env = environment()
    if env is None or not remembered(settings, env, spec.needs()):
        return False
    from pepperpy.plugins.deprecord import remember

    remember(settings, plugin=spec.plugin, lines=spec.needs())
    return True


def other_distribution_finders() -> bool:
    """True if a ``sys.meta_path`` finder other than ``PathFinder`` finds distributions
    (their answers are not in ``sys.path`` folder names: no index, no memo)."""
    from importlib.machinery import PathFinder

    return any(
        hasattr(finder, "find_distributions") and finder is not PathFinder
        for finder in sys.meta_path
    )


def _identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _load(settings: Settings) -> dict[str, list[list[object]]]:
    from pepperpy.core import PepperpyError
    from pepperpy.fsio import read_state

    try:  # a regular file, bounded (never blocks on a FIFO); damage is a miss
        raw = read_state(memo_path(settings), what="dependency memo", limit=_MAX_BYTES,
                         fix="")
        data: Any = json.loads(raw.decode("utf-8")) if raw else {}
        entries = data["entries"] if data.get("format") == _FORMAT else None
    except (PepperpyError, OSError, ValueError, TypeError, KeyError, AttributeError,
            RecursionError):
        return {}
    return entries if isinstance(entries, dict) else {}


def remembered(settings: Settings, env: Environment, lines: Sequence[str]) -> bool:
    """True if these lines were found met in this very environment, and every
    ``.dist-info`` folder and METADATA file that answer rested on is unchanged."""
    witnesses = _load(settings).get(env.key(lines))
    if not isinstance(witnesses, list):
        return False
    for item in witnesses:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            return False
        try:
            st = os.stat(item[0])
        except OSError:
            return False
        if list(_identity(st)) != item[1]:
            return False
    return True


def remember_met(settings: Settings, env: Environment, lines: Sequence[str],
                 folders: Sequence[str]) -> None:
    """Record that ``lines`` are met in ``env``, resting on the METADATA of ``folders``
    (identities taken now: the check read them after ``env`` was taken)."""
    witnesses: list[list[object]] = []
    newest = env.newest
    for folder in folders:
        for path in (folder, os.path.join(folder, "METADATA")):
            try:
                st = os.stat(path)
            except OSError:
                return
            witnesses.append([path, list(_identity(st))])
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    if time.time_ns() - newest < _RACY_NS:
        return  # changed just now: a second change in the same clock tick could hide
    from pepperpy.fsio import write_cache

    entries = _load(settings)
    key = env.key(lines)
    entries.pop(key, None)  # newest last; the oldest go first past the cap
    entries[key] = witnesses
    while len(entries) > _MAX_ENTRIES:
        del entries[next(iter(entries))]
    data = json.dumps({"format": _FORMAT, "entries": entries}, separators=(",", ":"))
    write_cache(memo_path(settings), data.encode("utf-8"), mode=0o600)
