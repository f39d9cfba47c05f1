"""``index add --trust-publishers`` as one unit: the index record and the trust write.

Two files change (``indexes/indexes.json``, then ``trust.json``), and no single rename
covers both. So the index folder is moved into place holding a note of the keys it is about
to trust (``trust-pending.json``), and the note is removed once the trust store holds them.
A crash in between leaves the note; the next command that reads the index store (``index
add``, ``index list``, an install, search or update: every ``Session``) settles it under
the store's lock, and says what it did (``plugin doctor`` lists a note, ``--fix`` settles
it):

- the trust store holds every key for every plugin the note lists (the trust write went
  through): the command had finished, and only the note goes;
- otherwise the index goes too, so the home reads as before the command, which the operator
  runs again. A key revoked meanwhile is never trusted by this: undoing writes no trust.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy.core import PepperpyError
from pepperpy.fsio import atomic_write, load_json, remove_file

if TYPE_CHECKING:
    from pepperpy.distribution.publisher_keys import PublisherKey
    from pepperpy.distribution.store import IndexStore
    from pepperpy.settings import Settings

__all__ = ["NOTE", "finished", "note_keys", "pending", "settle", "settle_locked"]

NOTE = "trust-pending.json"
Say = Callable[[str], None]


def note_keys(folder: Path, keys: list[PublisherKey]) -> None:
    """Write the note of ``keys`` into the staged index ``folder`` (before it is
    recorded: the rename that puts the folder in place carries the note with it)."""
    body = [{"key_id": k.key_id, "publisher": k.publisher,
             "pem": base64.b64encode(k.pem).decode(), "names": list(k.names),
             "slots": list(k.slots)} for k in keys]
    atomic_write(folder / NOTE, json.dumps({"keys": body}).encode(), mode=0o600, root=folder)


def finished(store: IndexStore, name: str) -> None:
    """The trust write went through: the note goes (the caller holds the store lock)."""
    remove_file(store.index_dir(name) / NOTE)


def pending(store: IndexStore) -> list[str]:
    """The recorded indexes whose note is still there (one ``stat`` per index)."""
    return [c.name for c in store.list() if (store.index_dir(c.name) / NOTE).exists()]


def settle(settings: Settings, store: IndexStore, say: Say | None) -> None:
    """Settle what a crashed ``index add --trust-publishers`` left, if anything."""
    if not pending(store):
        return
    with store.locked():
        settle_locked(settings, store, say)


def settle_locked(settings: Settings, store: IndexStore, say: Say | None) -> None:
    """:func:`settle` for a caller that holds the index store's lock."""
    for config in store.list():
        note = store.index_dir(config.name) / NOTE
        if not note.exists():
            continue
        name = config.name
        if _trusted(settings, note):
            finished(store, name)
            what = (f"finished the interrupted `pepperpy index add {name} "
                    "--trust-publishers`: the index and its publishers' keys are both in place")
        else:
            store.forget(name)
            what = (f"took index {name!r} out again: an interrupted `pepperpy index add "
                    f"{name} --trust-publishers` had recorded it without trusting its "
                    "publishers' keys; run that command again to add it")
        if say:
            say(f"pepperpy: note: {what}")


def _trusted(settings: Settings, note: Path) -> bool:
    """Whether the trust store already holds every key of ``note`` for every plugin it
    lists (an unreadable note: no, so the index is taken out)."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.distribution.publisher_keys import PublisherKey, widening

    try:
        data = load_json(note, what="pending trust note", fix="", limit=4 << 20, depth=6)
        keys = [PublisherKey(k["key_id"], k["publisher"], base64.b64decode(k["pem"]),
                             tuple(k["names"]), tuple(k["slots"])) for k in data["keys"]]
    except (PepperpyError, ValueError, KeyError, TypeError):
        return False
    snapshot = TrustStore(settings.trust_file).snapshot()  # damaged: its own error
    return not widening(keys, snapshot)
