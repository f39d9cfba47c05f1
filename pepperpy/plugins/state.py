"""The install state: which version of each plugin is installed, and who owns its name.

Stored at ``Settings.state_file`` as JSON::

    {"format": 1, "plugins": {NAME: record},
     "pending": {NAME: {"record": record, "displaces": [NAME, ...]}}}

Invariants:
- Written only through :func:`pepperpy.plugins.locking.atomic_write`, by a caller that
  holds the install lock, after the bundle verified: readers see the old state or the
  new one, and a refused install leaves it untouched.
- ``pending`` is the install journal (``install.py``): an install in progress (or
  interrupted) names the record it is installing. While it is pending, the installed
  file may be the old bundle or the new one, and both are the recorded bytes
  (:func:`settled_for`): a crash never makes a working plugin "tampered".
- Read bounded (size and nesting, ``pepperpy.fsio.load_json``): an empty, truncated,
  garbled or oversized file, a folder or a device is refused by name.
- A record names the key that signed the installed version. That key owns the plugin
  name and its ``(category, provider_name)``: discovery and install refuse the same
  name or provider from any other key until the operator moves it
  (``pepperpy plugin install FILE --transfer-owner``), trusts the other key with a scope
  naming the plugin (``pepperpy trust add PUBFILE --scope NAME``), or removes the plugin.
- An unreadable state file is an error, never "nothing installed": treating it as empty
  would silently disable rollback protection.
- Readers hold the shared install lock (:func:`read_lock`) while they read the state and
  the installed files together, so an install is seen entirely before or entirely after;
  :func:`read_again_if_installed` reads again when an install began during an unlocked
  read (a home with no lock file yet). They live here, not in ``locking``, so a load
  imports one module for both.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pepperpy._record import record
from pepperpy.core import ConfigurationError
from pepperpy.fsio import atomic_write, load_json, temp_files
from pepperpy.trust.types import InstallRecord, InstallState  # the kernel's values

if TYPE_CHECKING:
    from pepperpy.settings import Settings

__all__ = ["InstallRecord", "InstallStarted", "InstallState", "Pending", "committed",
           "install_leftovers", "load_state", "needs_settling", "read_again_if_installed",
           "read_lock", "save_state", "settled_for"]

P = ParamSpec("P")
T = TypeVar("T")

_FORMAT = 1
MAX_STATE_BYTES = 8 << 20


@record
class Pending:
    """An install in progress: the record it installs and the names it displaces (an
    ownership transfer removes the slot's other plugins); or, with ``removing``, the
    removal of ``record``."""

    record: InstallRecord
    displaces: tuple[str, ...] = ()
    removing: bool = False


def settled_for(state: InstallState, name: str, digest: str) -> InstallState:
    """The state as it is once the pending install of ``name`` completes, if the bundle
    found (``digest``) is that install's; else ``state`` unchanged."""
    pending = state.pending.get(name)
    if pending is None or pending.removing or pending.record.digest != digest:
        return state
    return committed(state, name)


def committed(state: InstallState, name: str) -> InstallState:
    """``state`` with the pending install of ``name`` applied (still pending)."""
    pending = state.pending[name]
    plugins = {n: r for n, r in state.plugins.items() if n not in pending.displaces}
    plugins[name] = pending.record
    return InstallState(plugins, state.pending)


_FIX = ("restore it from a backup, or delete it and reinstall your plugins with "
        "`pepperpy plugin install FILE` (rollback protection starts again from what you "
        "install)")


def load_state(path: Path) -> InstallState:
    """Read the state file; a missing file means nothing is installed."""
    data = load_json(path, what="install state", fix=_FIX, limit=MAX_STATE_BYTES, depth=8)
    if data is None:
        return InstallState({})
    try:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}"
                             if isinstance(data, dict) else "not an object")
        plugins = {n: _record(r) for n, r in data["plugins"].items()}
        pending = {n: Pending(_record(p["record"]), tuple(str(d) for d in p["displaces"]),
                              p.get("removing") is True)
                   for n, p in data.get("pending", {}).items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigurationError(
            f"the install state {path} is damaged ({str(exc)[:100]}); {_FIX}"
        ) from None
    return InstallState(plugins, pending)


def install_leftovers(settings: Settings) -> list[Path]:
    """Temporary files a crashed install left: in the plugin folder and beside the
    state file (only ever written under the install lock)."""
    return temp_files(settings.plugins_dir) + temp_files(settings.home,
                                                         settings.state_file.name)


def needs_settling(settings: Settings) -> bool:
    """Whether an interrupted install or removal left anything for ``install.settle``.

    Read without the install lock, so ``plugin update`` imports the install machinery
    only when there is something to settle: the state file is replaced atomically, and
    what this sees pending or left over is then settled under the lock, as before."""
    return bool(load_state(settings.state_file).pending or install_leftovers(settings))


def _record(data: Any) -> InstallRecord:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("a record must be an object of strings")
    return InstallRecord(**data)


def save_state(path: Path, state: InstallState) -> None:
    """Atomically replace the state file (caller holds the install lock)."""
    import json  # installs only: loading never imports json
    from dataclasses import asdict  # nor dataclasses

    data: dict[str, Any] = {
        "format": _FORMAT,
        "plugins": {n: asdict(r) for n, r in sorted(state.plugins.items())},
    }
    if state.pending:
        data["pending"] = {n: {"record": asdict(p.record), "displaces": list(p.displaces),
                               "removing": p.removing}
                           for n, p in sorted(state.pending.items())}
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")


# -- reading it consistently with installs -----------------------------------------


@contextlib.contextmanager
def read_lock(path: Path) -> Iterator[None]:
    """Hold a shared lock on ``path`` while reading state its writers change together.

    Creates nothing: a command that only reads leaves a fresh home as it found it. With
    no lock file no install ever held it (writers create it before they write anything),
    so the read runs unlocked; if the file exists when it ends, an install started
    meanwhile and :class:`InstallStarted` asks the caller to read again, now locked
    (:func:`read_again_if_installed`). If the lock file cannot be opened (a read-only
    home, where no install through it can run either), read unlocked.
    """
    fd: int | None = None
    absent = False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        absent = True
    except OSError:
        pass
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        if fd is not None:
            os.close(fd)
        if absent and os.path.lexists(path):
            raise InstallStarted(path)


class InstallStarted(Exception):
    """An install took the lock while a reader ran without it: what it read may mix the
    old state and the new, so it reads again (never reaches a user)."""


def read_again_if_installed(read: Callable[P, T]) -> Callable[P, T]:
    """Run ``read`` (which takes :func:`read_lock` and changes nothing) again whenever
    an install started during an unlocked read; the next run finds the lock file."""

    @functools.wraps(read)
    def again(*args: P.args, **kwargs: P.kwargs) -> T:
        while True:
            try:
                return read(*args, **kwargs)
            except InstallStarted:
                continue

    return again
