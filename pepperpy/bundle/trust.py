"""The operator's trust store: which publisher keys are trusted, revoked or scoped.

File ``Settings.trust_file`` (``$PEPPERPY_HOME/trust.json``)::

    {"version": 1,
     "keys": {"<key id>": {"publisher": "acme", "public_key": "<base64 raw 32 bytes>",
                           "added_at": "2025-01-01T00:00:00Z", "revoked_at": null,
                           "scopes": null, "only": null}},
     "revoked_bundles": ["<sha256 hex>", ...]}

Invariants:

* a missing file means "nothing trusted"; an empty, truncated, corrupt, oversized or
  unreadable file (a folder, a device, a dangling link) is a ``ConfigurationError``
  naming the file and the fix, read in bounded memory; it never means "nothing trusted"
  or "nothing revoked", so a revoked key never comes back through a damaged file;
* a key's id must equal the SHA-256 of its raw bytes; weak keys are refused on add and,
  if forced into the file by hand, are marked weak and refused by verify;
* a revoked key stays recorded: re-adding or removing it never makes it trusted again;
* ``only`` (a list of plugin names, or null) restricts a key to those plugins: trusted
  through an index, it signs only what that index listed it for, each entry written
  ``name@category/provider`` so that the provider slot is pinned too. Adding the key again
  without ``only`` lifts the restriction; adding it with ``only`` never narrows a key
  trusted for everything, and merges names into a restricted one;
* writes take an exclusive ``fcntl.flock`` on ``trust.json.lock``, then go through
  :func:`pepperpy.fsio.atomic_write` (readers see old or new, never half), and the same
  bytes to ``trust.json.bak``, the copy to restore if the store is damaged later;
* :meth:`TrustStore.snapshot` returns an immutable view; verify does no I/O.
"""

from __future__ import annotations

import binascii
import builtins
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pepperpy._sha import sha256
from pepperpy.core import ConfigurationError, PepperpyError, ValidationError
from pepperpy.fsio import (
    atomic_write,
    file_lock,
    load_json,
    parse_json,
    read_state,
    remove_file,
    state_error,
    temp_files,
    write_cache,
)
from pepperpy.settings import Settings
from pepperpy.trust.authentic import weak_key_problem
from pepperpy.trust.gate import Trust
from pepperpy.trust.types import TrustedKey, TrustSnapshot, VerifiedBundle

if TYPE_CHECKING:
    from pepperpy.bundle.keys import PublicKey

__all__ = ["TrustSnapshot", "TrustStore", "TrustedKey", "VerifiedCache", "key_json",
           "read_trust"]

STORE_VERSION = 1
MAX_STORE_BYTES = 8 << 20  # about 20,000 keys; a larger file is damage, never read


def _hex64(text: str) -> bool:
    """64 lowercase hex digits (``str.strip`` with the digits: no regex compiled at import)."""
    return len(text) == 64 and not text.strip("0123456789abcdef")


def _replace(key: TrustedKey, **changes: Any) -> TrustedKey:
    """``dataclasses.replace``, imported only when the store is changed (never on a load)."""
    from dataclasses import replace

    return replace(key, **changes)


def key_json(key: TrustedKey) -> dict[str, Any]:
    """A key record as the store writes it (``weak`` is derived, never stored)."""
    return {
        "publisher": key.publisher,
        "public_key": binascii.b2a_base64(key.public_key, newline=False).decode("ascii"),
        "added_at": key.added_at,
        "revoked_at": key.revoked_at,
        "scopes": list(key.scopes) if key.scopes is not None else None,
        "only": list(key.only) if key.only is not None else None,
    }


_CACHE_ENTRIES = 10_000  # enough that listing 5,000 bundles never evicts its own entries


class VerifiedCache:
    """``PEPPERPY_HOME/verified.json``: what full verifications established, by digest.

    Each entry names the trust fingerprint it was verified under; the gate
    (``pepperpy.trust.gate.authenticate``) uses an entry only under that same fingerprint,
    so adding, removing or revoking a key, or revoking a bundle, invalidates every entry.
    A missing, corrupt or unwritable file only means verifying again (a read-only home
    still loads); whoever can write it can write the trust store beside it too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, str]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict[str, str]]:
        if self._entries is None:
            try:  # bounded: damage is a miss, and the cache is rebuilt
                data = load_json(self.path, what="verification cache", fix="",
                                 limit=32 << 20, depth=8)
                entries = data["entries"] if data.get("format") == 1 else {}
                self._entries = entries if isinstance(entries, dict) else {}
            except (PepperpyError, OSError, ValueError, TypeError, KeyError, AttributeError):
                self._entries = {}
        return self._entries

    def get(self, digest: str) -> dict[str, str] | None:
        """The entry for ``digest`` (with its ``trust`` fingerprint), if well-formed."""
        entry = self._load().get(digest)
        keys = ("trust", "key_id", "publisher", "manifest")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in keys):
            return None
        return entry

    def put(self, digest: str, entry: dict[str, str]) -> None:
        """Record a verification in memory; :meth:`flush` writes them all at once."""
        entries = self._load()
        if not self._dirty:  # once per write: entries under another fingerprint are stale
            entries = {d: e for d, e in entries.items()
                       if isinstance(e, dict) and e.get("trust") == entry["trust"]}
        entries.pop(digest, None)  # newest last; the oldest go first past the cap
        entries[digest] = entry
        while len(entries) > _CACHE_ENTRIES:
            del entries[next(iter(entries))]
        self._entries, self._dirty = entries, True

    def remember(self, verified: VerifiedBundle, fingerprint: str) -> None:
        """Record a full verification of bytes already in memory, as the gate's
        ``authenticate`` records one of a file (an install from an index: its first
        load then needs no verification)."""
        self.put(verified.digest, {"trust": fingerprint, "key_id": verified.key_id,
                                   "publisher": verified.publisher,
                                   "manifest": verified.manifest_bytes.decode("utf-8")})

    def flush(self) -> None:
        """Write what :meth:`put` recorded. Best effort: a read-only home verifies again."""
        if self._dirty and self._entries is not None:
            import json  # a load that verified nothing afresh writes nothing

            data = json.dumps({"format": 1, "entries": self._entries}, separators=(",", ":"))
            write_cache(self.path, data.encode("utf-8"), mode=0o600)
            self._dirty = False


def read_trust(settings: Settings) -> Trust:
    """The trust store as it is now, its fingerprint and the verified cache under it."""
    from pepperpy._version import __version__

    snapshot, fingerprint = TrustStore(settings.trust_file).read()
    # Bound to the verifier too: after an upgrade (whose checks may be stricter) nothing
    # an older PepperPy verified or listed counts until it is verified again.
    fingerprint = f"pepperpy-{__version__}:{fingerprint}"
    return Trust(snapshot, fingerprint, VerifiedCache(settings.home / "verified.json"))


def check_publisher(publisher: str) -> str:
    """A publisher name the store accepts: 1-100 printable characters."""
    if not publisher or len(publisher) > 100 or not publisher.isprintable():
        raise ValidationError(
            f"publisher name {publisher[:40]!r} must be 1-100 printable characters"
        )
    return publisher


def _now() -> str:
    import datetime as _dt  # only when the store changes: loading never needs it

    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_key(key_id: str, rec: Any, path: Path) -> TrustedKey:
    def bad(why: str) -> ConfigurationError:
        return ConfigurationError(
            f"trust store {path} is corrupt: key {key_id[:16]}: {why}; fix the record or "
            f"restore the store from its backup {path.name}.bak (never delete the store: "
            "it holds your revocations)"
        )

    if not _hex64(key_id) or not isinstance(rec, dict):
        raise bad("malformed record")
    try:
        raw = binascii.a2b_base64(rec["public_key"], strict_mode=True)  # = b64decode(validate)
    except (KeyError, TypeError, binascii.Error):
        raise bad("public_key is not base64") from None
    if len(raw) != 32 or sha256(raw).hexdigest() != key_id:
        raise bad("public_key does not match its key id")
    scopes = rec.get("scopes")
    publisher, added, revoked = rec.get("publisher"), rec.get("added_at"), rec.get("revoked_at")
    if not isinstance(publisher, str) or not isinstance(added, str):
        raise bad("publisher and added_at must be strings")
    if revoked is not None and not isinstance(revoked, str):
        raise bad("revoked_at must be a string or null")
    only = rec.get("only")
    for label, names in (("scopes", scopes), ("only", only)):
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(n, str) for n in names)
        ):
            raise bad(f"{label} must be a list of plugin names or null")
    return TrustedKey(key_id, publisher, raw, added, revoked,
                      tuple(scopes) if scopes is not None else None,
                      tuple(only) if only is not None else None,
                      weak=weak_key_problem(raw) is not None)


class TrustStore:
    """Read and change the trust store file. All changes are atomic and locked."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TrustStore:
        return cls((settings or Settings.from_env()).trust_file)

    def _fix(self) -> str:
        return (f"restore it from a backup (PepperPy keeps a copy of the last good store "
                f"in {self.backup}); never delete it to start over: it holds your "
                "revocations")

    @property
    def backup(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def _read_bytes(self) -> bytes:
        """The store's bytes (``b""`` if there is none); bounded, never a device."""
        raw = read_state(self.path, what="trust store", limit=MAX_STORE_BYTES,
                         fix=self._fix())
        if raw is not None and not raw.strip():
            raise state_error(self.path, "(the trust store) is empty (damaged: PepperPy "
                                         "never writes an empty one)", self._fix())
        return b"" if raw is None else raw

    def _load(self, raw: bytes | None = None) -> tuple[dict[str, TrustedKey], set[str]]:
        raw = self._read_bytes() if raw is None else raw
        if not raw:
            return {}, set()
        data = parse_json(raw, path=self.path, what="trust store", fix=self._fix(), depth=8)
        if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
            raise ConfigurationError(
                f"trust store {self.path} has no supported version (expected "
                f"\"version\": {STORE_VERSION}); {self._fix()}"
            )
        keys, revoked = data.get("keys", {}), data.get("revoked_bundles", [])
        if not isinstance(keys, dict) or not isinstance(revoked, list) or not all(
            isinstance(d, str) and _hex64(d) for d in revoked
        ):
            raise ConfigurationError(
                f"trust store {self.path} is corrupt: keys must be an object and "
                f"revoked_bundles a list of sha256 hex digests; {self._fix()}"
            )
        return {k: _parse_key(k, v, self.path) for k, v in keys.items()}, set(revoked)

    def _save(self, keys: dict[str, TrustedKey], revoked: set[str]) -> None:
        """The store, then the same bytes as its backup: a store damaged later (a disk
        error, an editor) can be restored without losing a revocation."""
        body = {
            "version": STORE_VERSION,
            "keys": {k: key_json(keys[k]) for k in sorted(keys)},
            "revoked_bundles": sorted(revoked),
        }
        import json  # writes only

        data = (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()
        atomic_write(self.path, data, mode=0o600)
        atomic_write(self.backup, data, mode=0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[tuple[dict[str, TrustedKey], set[str]]]:
        with file_lock(self.path.with_name(self.path.name + ".lock")):
            for leftover in self._leftovers():
                remove_file(leftover)  # a crashed change's
            keys, revoked = self._load()
            yield keys, revoked
            self._save(keys, revoked)

    def _leftovers(self) -> builtins.list[Path]:
        return (temp_files(self.path.parent, self.path.name)
                + temp_files(self.path.parent, self.backup.name))

    def settle(self) -> None:
        """Finish a change a crash cut short (the store written, its backup not): a
        command that finds nothing to change still leaves a settled store behind.
        Writes nothing when the store is settled."""
        raw = self._read_bytes()
        if not raw or (not self._leftovers() and read_state(
                self.backup, what="trust store backup", limit=MAX_STORE_BYTES,
                fix=self._fix()) == raw):
            return
        with self._locked():
            pass

    def snapshot(self) -> TrustSnapshot:
        """Read the store once into an immutable view for verify."""
        return self.read()[0]

    def read(self) -> tuple[TrustSnapshot, str]:
        """The snapshot and the fingerprint of the bytes it was read from.

        The fingerprint (sha256 of the store file, ``"empty"`` without one) keys what
        was verified under this snapshot: any change to the store (a key added,
        removed or revoked, a bundle revoked) changes it.
        """
        raw = self._read_bytes()
        keys, revoked = self._load(raw)
        fingerprint = sha256(raw).hexdigest() if raw else "empty"
        return TrustSnapshot(MappingProxyType(keys), frozenset(revoked)), fingerprint

    def list(self) -> list[TrustedKey]:
        keys, _ = self._load()
        return sorted(keys.values(), key=lambda k: (k.publisher, k.key_id))

    def revoked_bundles(self) -> builtins.list[str]:
        return sorted(self._load()[1])

    def resolve(self, ref: str) -> str:
        """Full key id for a key id or a unique prefix of at least 8 hex digits."""
        return _resolve(ref, self._load()[0])

    def add(
        self, pub_pem: bytes, *, publisher: str, scopes: tuple[str, ...] | None = None,
        only: tuple[str, ...] | None = None,
    ) -> TrustedKey:
        """Trust a public key (refusing weak keys); re-adding is a no-op, scopes merge.

        ``only`` trusts the key for those plugin names alone (see the module docstring).
        """
        return self.add_all([(pub_pem, publisher, only)], scopes=scopes)[0]

    def add_all(
        self, grants: builtins.list[tuple[bytes, str, tuple[str, ...] | None]], *,
        scopes: tuple[str, ...] | None = None,
    ) -> builtins.list[TrustedKey]:
        """Trust several keys, each ``(pem, publisher, only)`` as :meth:`add` does, in
        one write: every key is checked first, so a refused one leaves the store as it
        was (an index's publishers are trusted all together or not at all)."""
        from pepperpy.bundle.keys import load_public_key

        checked = [(load_public_key(pem), check_publisher(publisher), only)
                   for pem, publisher, only in grants]
        with self._locked() as (keys, _revoked):
            for key, publisher, only in checked:
                keys[key.key_id] = _granted(keys.get(key.key_id), key, publisher, scopes,
                                            only)
            return [keys[key.key_id] for key, _, _ in checked]

    def pin(self, key_id: str, name: str, slot: str) -> bool:
        """Pin a plain ``--only NAME`` entry of ``key_id`` to ``NAME@slot`` (the slot NAME
        was first installed in); True if the store changed. Writes nothing otherwise."""
        record = self._load()[0].get(key_id)
        if record is None or record.only is None or name not in record.only:
            return False
        with self._locked() as (keys, _revoked):
            record = keys.get(key_id)
            if record is None or record.only is None or name not in record.only:
                return False
            pinned = (set(record.only) - {name}) | {f"{name}@{slot}"}
            keys[key_id] = _replace(record, only=tuple(sorted(pinned)))
            return True

    def remove(self, ref: str) -> TrustedKey | None:
        """Stop trusting a key. A revoked key stays recorded as revoked. A full key id
        that is not in the store is already removed: ``None`` (a retried removal)."""
        if self._refused_unlocked(ref):
            return None
        with self._locked() as (keys, _revoked):
            if _hex64(ref.strip().lower()) and ref.strip().lower() not in keys:
                return None
            key_id = _resolve(ref, keys)
            record = keys[key_id]
            if not record.revoked:
                del keys[key_id]
            return record

    def revoke(self, ref: str) -> TrustedKey:
        """Refuse a key forever (it stays in the store, marked revoked)."""
        if self._refused_unlocked(ref):
            _resolve(ref, {})  # a full key id not in the store: "no key ..."
        with self._locked() as (keys, _revoked):
            key_id = _resolve(ref, keys)
            if not keys[key_id].revoked:
                keys[key_id] = _replace(keys[key_id], revoked_at=_now())
            return keys[key_id]

    def _refused_unlocked(self, ref: str) -> bool:
        """Check ``ref`` against the store as it is, before taking the lock, so a refusal
        creates nothing (no home, no lock file): raises if it is no key id or names no
        key (the locked path would raise too, saving nothing). ``True`` for a full key
        id when there is no store at all; with a store, a retried removal still goes
        through the lock, whose save also repairs a backup a crash left behind."""
        keys = self._load()[0]
        key_id = ref.strip().lower()
        if _hex64(key_id) and key_id not in keys:
            return not (self.path.is_symlink() or self.path.exists() or self.backup.exists())
        _resolve(ref, keys)
        return False

    def revoke_bundle(self, digest: str) -> str:
        """Refuse one exact bundle (its file's SHA-256) at verify, install and load."""
        digest = digest.strip().lower()
        if not _hex64(digest):
            raise ValidationError(
                f"{digest[:70]!r} is not a SHA-256 hex digest (64 hex digits; "
                "`pepperpy plugin inspect FILE` shows it)"
            )
        with self._locked() as (_keys, revoked):
            revoked.add(digest)
        return digest


def _granted(old: TrustedKey | None, key: PublicKey, publisher: str,
             scopes: tuple[str, ...] | None, only: tuple[str, ...] | None) -> TrustedKey:
    """The record of ``key`` after trusting it (again): see the module docstring's rules."""
    if old is None:
        return TrustedKey(key.key_id, publisher, key.raw, _now(), None,
                          tuple(sorted(set(scopes))) if scopes else None,
                          tuple(sorted(set(only))) if only else None)
    record = old
    if scopes:
        record = _replace(record, scopes=tuple(sorted(set(old.scopes or ()) | set(scopes))))
    if not only:
        record = _replace(record, only=None)
    elif record.only is not None:
        record = _replace(record, only=tuple(sorted(set(record.only) | set(only))))
    return record


def _resolve(ref: str, keys: dict[str, TrustedKey]) -> str:
    ref = ref.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", ref):
        raise ValidationError(
            f"{ref[:70]!r} is not a key id (64 hex digits, or a unique prefix of at least 8)"
        )
    matches = [k for k in keys if k.startswith(ref)]
    if not matches:
        raise ValidationError(f"no key {ref} in the trust store (see `pepperpy trust list`)")
    if len(matches) > 1:
        raise ValidationError(f"key id prefix {ref} is ambiguous; give more digits")
    return matches[0]
