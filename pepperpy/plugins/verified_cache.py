"""Remember which bundle bytes verified, so a process that loads them again skips the work.

A full verification imports ``cryptography`` (the signature) and ``jsonschema`` (the
manifest schema) and costs far more than importing a small plugin. What it proves depends
on two inputs only: the bundle's bytes and the trust store. So the result is kept under
both: the sha256 of the bytes and the fingerprint of the trust store they were verified
under (``TrustStore.read``).

Invariants:
- Looked up only by the sha256 of bytes just read from disk and kept in memory for the
  import: a changed byte is another digest, a miss, and a full verification.
- An entry counts only under the trust fingerprint it was recorded with: adding,
  removing or revoking a key, or revoking a bundle, changes the fingerprint and so
  invalidates every entry. Install-state rules (rollback, ownership) are not cached:
  ``policy.py`` runs them on every load.
- The file (``PEPPERPY_HOME/verified.json``) lives beside the trust store and the install
  state and is written the same way (atomically); whoever can write it can write the
  trust store too, so it adds no way in. A missing, corrupt or unwritable cache only
  means verifying again (a read-only home still loads).
"""

from __future__ import annotations

import json
from pathlib import Path

from pepperpy._record import record
from pepperpy.core import StateError
from pepperpy.fsio import atomic_write, file_lock, load_json, remove_file, temp_files

__all__ = ["CachedVerification", "VerifiedCache"]

_FORMAT = 1
_MAX_ENTRIES = 512
_MAX_BYTES = 32 << 20


@record
class CachedVerification:
    """What a full verification of one digest established."""

    key_id: str
    publisher: str
    manifest: bytes


class VerifiedCache:
    """The verified-bundle cache file of one PepperPy home."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, str]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict[str, str]]:
        if self._entries is None:
            try:  # bounded: a damaged cache is only a miss, rebuilt by the next flush
                data = load_json(self.path, what="verification cache", fix="",
                                 limit=_MAX_BYTES, depth=8)
                entries = data["entries"] if data.get("format") == _FORMAT else {}
                self._entries = entries if isinstance(entries, dict) else {}
            except (StateError, ValueError, TypeError, KeyError, AttributeError):
                self._entries = {}
        return self._entries

    def get(self, digest: str, trust: str) -> CachedVerification | None:
        """The verification of ``digest`` under trust fingerprint ``trust``, if recorded."""
        entry = self._load().get(digest)
        if not isinstance(entry, dict) or entry.get("trust") != trust:
            return None
        try:
            return CachedVerification(str(entry["key_id"]), str(entry["publisher"]),
                                      str(entry["manifest"]).encode("utf-8"))
        except (KeyError, UnicodeEncodeError):
            return None

    def put(self, digest: str, trust: str, result: CachedVerification) -> None:
        """Record a verification in memory; :meth:`flush` writes them all at once."""
        entries = {d: e for d, e in self._load().items()
                   if isinstance(e, dict) and e.get("trust") == trust}
        entries[digest] = {"trust": trust, "key_id": result.key_id,
                           "publisher": result.publisher,
                           "manifest": result.manifest.decode("utf-8")}
        if len(entries) > _MAX_ENTRIES:
            entries = dict(list(entries.items())[-_MAX_ENTRIES:])
        self._entries = entries
        self._dirty = True

    def flush(self) -> None:
        """Write what :meth:`put` recorded (entries under another fingerprint are
        dropped as stale). Best effort: a read-only home verifies again next time."""
        if not self._dirty or self._entries is None:
            return
        data = json.dumps({"format": _FORMAT, "entries": self._entries}, separators=(",", ":"))
        try:
            with file_lock(self.path.with_name(self.path.name + ".lock")):
                for leftover in temp_files(self.path.parent, self.path.name):
                    remove_file(leftover)  # a crashed flush's
                atomic_write(self.path, data.encode("utf-8"), mode=0o600)
        except (OSError, StateError):
            pass
        self._dirty = False
