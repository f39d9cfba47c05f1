"""What a crash can leave in a PepperPy home, for ``plugin doctor`` and ``--fix``.

Every write goes through :func:`pepperpy.fsio.atomic_write` under the lock of the file it
replaces, so a temporary file exists only while its writer holds that lock, or after a
crash. Listing is read-only; fixing takes each lock in turn, so it never removes a file
another process is writing:

- installs and removals interrupted mid-way (the install journal) and temporary files
  beside the install state and in the plugin folder: settled under the install lock
  (``install.settle``: completed if the new bundle is in place, else rolled back);
- temporary files of the trust store, the verification and discovery caches and the
  dependency record: removed under each file's own lock;
- index staging folders, catalog temp files and spool folders whose process is gone:
  removed under the index store lock (``IndexStore.clean``);
- an ``index add --trust-publishers`` cut short between its two writes: settled under the
  index store lock (``distribution.pending_trust``: finished or taken out again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pepperpy.distribution import pending_trust
from pepperpy.distribution.store import IndexStore
from pepperpy.fsio import file_lock, remove_file, temp_files
from pepperpy.settings import Settings

__all__ = ["Leftover", "clean", "find"]


@dataclass(frozen=True)
class Leftover:
    path: str
    what: str


def _locked_files(settings: Settings) -> list[tuple[Path, Path]]:
    """(state file, its lock) for each file written under its own lock."""
    cache = settings.cache_dir / "index.json"
    return [(settings.trust_file, settings.home / "trust.json.lock"),
            (settings.home / "trust.json.bak", settings.home / "trust.json.lock"),
            (settings.home / "verified.json", settings.home / "verified.json.lock"),
            (settings.home / "dependencies.json", settings.home / "dependencies.json.lock"),
            (cache, cache.with_name("index.json.lock"))]


def find(settings: Settings) -> list[Leftover]:
    """Everything a crash left, without changing anything."""
    from pepperpy.plugins.install import install_leftovers
    from pepperpy.plugins.state import load_state

    found = []
    for name, pending in sorted(load_state(settings.state_file).pending.items()):
        r = pending.record
        what = (f"an interrupted removal of {name} {r.version}" if pending.removing
                else f"an interrupted install of {name} {r.version}")
        found.append(Leftover(str(settings.state_file), what))
    found += [Leftover(str(p), "a temporary file of an interrupted install")
              for p in install_leftovers(settings)]
    for target, _lock in _locked_files(settings):
        found += [Leftover(str(p), f"a temporary file of an interrupted write of {target.name}")
                  for p in temp_files(target.parent, target.name)]
    store = IndexStore(settings)
    found += [Leftover(str(p), "left by an interrupted index command or download")
              for p in store.leftovers()]
    found += [Leftover(str(store.index_dir(name) / pending_trust.NOTE),
                       f"an interrupted `pepperpy index add {name} --trust-publishers`")
              for name in _pending_trust(store)]
    return found


def _pending_trust(store: IndexStore) -> list[str]:
    from pepperpy.core import PepperpyError

    try:
        return pending_trust.pending(store)
    except PepperpyError:  # a damaged index store: `plugin doctor` names it elsewhere
        return []


def clean(settings: Settings) -> list[Leftover]:
    """Settle and remove what :func:`find` lists, each under its lock; returns it."""
    from pepperpy.plugins.install import settle_now

    found = find(settings)
    if not found:
        return []
    settle_now(settings)
    for target, lock in _locked_files(settings):
        leftovers = temp_files(target.parent, target.name)
        if leftovers:
            with file_lock(lock):
                for path in temp_files(target.parent, target.name):
                    remove_file(path)
    store = IndexStore(settings)
    if store.leftovers():
        with store.locked():
            store.clean()
    if _pending_trust(store):
        pending_trust.settle(settings, store, None)
    return found
