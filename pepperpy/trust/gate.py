"""The gate: from a bundle file to a ``VerifiedBundle``. The kernel's only I/O.

Every path PepperPy loads, installs, lists or checks comes through :func:`authenticate`
(bytes already in memory, through :func:`verify_bundle`). Order, cheapest first:

1. open once with ``O_NONBLOCK`` and refuse anything but a regular file (``fstat`` on
   the descriptor that is then read: a FIFO or device never blocks, nothing is swapped
   in between);
2. screen: read only the end record, the central directory (its size bounded by the
   entry count before it is read) and the signature entry, and check that the key it
   names is trusted, strong and unrevoked. A file nobody trusts costs a few small reads;
3. read the rest through the same descriptor (size checked first); the directory read
   in step 2 must be the one in those bytes, so it is parsed once;
4. hash the bytes once; a digest verified before under this trust fingerprint (the
   verified cache) skips the signature check; otherwise ``authentic.verify_signature``
   decides, and only then is ``plugin.json`` parsed (``manifest.py``);
5. hand back a ``VerifiedBundle``: the only object ``sealed.import_bundle`` accepts.

Every later step (install copy, import, data reads) uses those bytes, never the path.
Refusals are ``PepperpyError``s naming the file, the reason and the fix; nothing here
writes anything but the verified cache (``PEPPERPY_HOME/verified.json``), best effort.
"""

from __future__ import annotations

import json
import os
import stat
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from pepperpy._record import record
from pepperpy.core import BundleInvalidError, PepperpyError
from pepperpy.trust import archive as zf
from pepperpy.trust.authentic import (
    check_directory,
    check_key,
    file_digests,
    parse_signature_entry,
    verify_signature,
)
from pepperpy.trust.manifest import parse_manifest
from pepperpy.trust.types import (
    DEFAULT_LIMITS,
    Limits,
    PluginManifest,
    TrustSnapshot,
    VerifiedBundle,
    ZipEntry,
    from_validated,
)

__all__ = [
    "CachedVerification", "Trust", "VerifiedCache", "authenticate", "issued", "open_regular",
    "read_bundle", "screen", "verify_bundle",
]

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_ISSUED: weakref.WeakValueDictionary[int, VerifiedBundle] = weakref.WeakValueDictionary()


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary reader on ``path``; ``BundleInvalidError`` if it is not a regular file.

    ``OSError`` from opening (missing file, no permission) propagates unchanged.
    """
    fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in (
                (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISDIR, "a folder")) if test(mode)), "not a plain file")
            raise BundleInvalidError(
                f"not a regular file ({kind}); a bundle must be a plain file: delete or "
                "rename it", path=str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@record
class CachedVerification:
    """What a full verification of one digest established."""

    key_id: str
    publisher: str
    manifest: bytes


_CACHE_ENTRIES = 10_000  # enough that listing 5,000 bundles never evicts its own entries


class VerifiedCache:
    """Which bundle digests verified, under which trust fingerprint (``verified.json``).

    An entry counts only under the trust fingerprint it was recorded with: adding,
    removing or revoking a key, or revoking a bundle, changes the fingerprint and so
    invalidates every entry. A missing, corrupt or unwritable file means verifying again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, str]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict[str, str]]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_bytes())
                entries = data["entries"] if data.get("format") == 1 else {}
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
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
        entries = self._load()
        if not self._dirty:  # once per write: entries under another fingerprint are stale
            entries = {d: e for d, e in entries.items()
                       if isinstance(e, dict) and e.get("trust") == trust}
        entries.pop(digest, None)  # newest last; the oldest go first past the cap
        entries[digest] = {"trust": trust, "key_id": result.key_id,
                           "publisher": result.publisher,
                           "manifest": result.manifest.decode("utf-8")}
        while len(entries) > _CACHE_ENTRIES:
            del entries[next(iter(entries))]
        self._entries = entries
        self._dirty = True

    def flush(self) -> None:
        """Write what :meth:`put` recorded. Best effort: a read-only home verifies again."""
        if not self._dirty or self._entries is None:
            return
        from pepperpy.bundle.fileio import atomic_write  # the one writer; not on the load path

        data = json.dumps({"format": 1, "entries": self._entries}, separators=(",", ":"))
        try:
            atomic_write(self.path, data.encode("utf-8"), mode=0o600)
        except OSError:
            pass
        self._dirty = False


@record
class Trust:
    """The trust snapshot, its fingerprint, and the verified cache that goes with them."""

    snapshot: TrustSnapshot
    fingerprint: str
    cache: VerifiedCache

    def only(self, key_id: str) -> frozenset[str] | None:
        """What the key is trusted for (``trust add --only``), or None for anything."""
        rec = self.snapshot.get(key_id)
        return frozenset(rec.only) if rec is not None and rec.only is not None else None

    def scopes(self, key_id: str) -> frozenset[str]:
        """Plugin names the key may take over from their owners (``trust add --scope``)."""
        rec = self.snapshot.get(key_id)
        return frozenset(rec.scopes or ()) if rec is not None else frozenset()


def issued(bundle: VerifiedBundle) -> bool:
    """True for a ``VerifiedBundle`` this gate handed out in this process."""
    return _ISSUED.get(id(bundle)) is bundle


def _issue(bundle: VerifiedBundle) -> VerifiedBundle:
    _ISSUED[id(bundle)] = bundle
    return bundle


def _check_size(size: int, limits: Limits, path: Path | str | None) -> None:
    if size > limits.max_bundle_size:
        raise BundleInvalidError(
            f"file is {size} bytes, above the {limits.max_bundle_size}-byte limit; it is "
            "not a bundle PepperPy can load", path=None if path is None else str(path))


def _screen(handle: BinaryIO, path: Path, trust: TrustSnapshot, limits: Limits
            ) -> tuple[int, bytes, tuple[ZipEntry, ...], str]:
    """Step 2 on an open file: (size, directory bytes, entries, key id); key checked."""
    size = os.fstat(handle.fileno()).st_size
    _check_size(size, limits, path)
    if size < zf.END_SIZE:
        raise BundleInvalidError("file too short to be a bundle", path=str(path))
    handle.seek(size - zf.END_SIZE)
    count, cd_offset, cd_size = zf.parse_end_record(
        handle.read(zf.END_SIZE), file_size=size, limits=limits)
    handle.seek(cd_offset)
    directory = handle.read(cd_size)
    entries = tuple(zf.parse_central_directory(directory, count=count, cd_offset=cd_offset,
                                               limits=limits))
    last = check_directory(entries)
    if last.size > limits.max_signature_entry_size:
        raise BundleInvalidError("the signature entry is malformed", path=str(path))
    handle.seek(last.header_offset)
    blob = handle.read(last.data_offset - last.header_offset + last.compressed_size)
    zf.check_local_header(blob, last)
    key_id, _signature = parse_signature_entry(blob[last.data_offset - last.header_offset:])
    check_key(trust, key_id, None)
    return size, directory, entries, key_id


def screen(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The trusted key id ``path`` names, reading only its directory and signature."""
    with _refusal(path, None), _opened(path) as handle:
        return _screen(handle, path, trust.snapshot, limits)[3]


class _refusal:
    """Make every refusal name the file (and the key, once the screen has read it)."""

    def __init__(self, path: Path, key_id: str | None) -> None:
        self.path, self.key_id = str(path), key_id

    def __enter__(self) -> _refusal:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, PepperpyError):
            if getattr(exc, "key_id", None) is None:
                exc.key_id = self.key_id  # type: ignore[attr-defined]
            if exc.args and self.path not in str(exc.args[0]):
                exc.args = (f"{self.path}: {exc.args[0]}", *exc.args[1:])
            if isinstance(exc, BundleInvalidError) and exc.path is None:
                exc.path = self.path


class _opened:
    """``open_regular`` whose ``OSError`` becomes a ``BundleInvalidError`` naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> BinaryIO:
        try:
            self.handle = open_regular(self.path)
        except OSError as exc:
            raise BundleInvalidError(f"cannot read: {exc.strerror or exc}",
                                     path=str(self.path)) from None
        return self.handle

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self.handle.close()
        if isinstance(exc, OSError):
            raise BundleInvalidError(f"cannot read: {exc.strerror or exc}",
                                     path=str(self.path)) from None


def read_bundle(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, unverified (``inspect``, ``verify``): a regular file, bounded."""
    with _opened(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        _check_size(size, limits, path)
        data = handle.read(limits.max_bundle_size + 1)
    _check_size(len(data), limits, path)
    return data


def authenticate(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS
                 ) -> VerifiedBundle:
    """Steps 1-5: the file's bytes, verified (or found verified under this trust)."""
    with _refusal(path, None) as refusal:
        with _opened(path) as handle:
            size, directory, entries, refusal.key_id = _screen(handle, path, trust.snapshot,
                                                               limits)
            handle.seek(0)
            data = handle.read(size + 1)
        cd_offset = entries[-1].data_offset + entries[-1].compressed_size
        if len(data) != size or data[cd_offset: cd_offset + len(directory)] != directory:
            raise BundleInvalidError("the file changed while it was read; try again")
        hashed = file_digests(data, entries)
        digest = hashed[1]
        hit = trust.cache.get(digest, trust.fingerprint)
        manifest = _cached_manifest(hit.manifest) if hit is not None else None
        if hit is not None and manifest is not None:
            return _issue(VerifiedBundle(manifest, hit.manifest, digest, hit.key_id,
                                         hit.publisher, data, zf.Contents(data, entries),
                                         entries))
        verified = verify_bundle(data, trust.snapshot, limits=limits, entries=entries,
                                 hashed=hashed)
    trust.cache.put(digest, trust.fingerprint, CachedVerification(
        verified.key_id, verified.publisher, verified.manifest_bytes))
    return verified


def _cached_manifest(raw: bytes) -> PluginManifest | None:
    try:
        return from_validated(json.loads(raw))
    except (ValueError, TypeError, KeyError):
        return None  # a damaged entry: verify again


def verify_bundle(data: bytes, trust: TrustSnapshot, *, limits: Limits = DEFAULT_LIMITS,
                  path: str | None = None, entries: tuple[ZipEntry, ...] | None = None,
                  hashed: tuple[str, str] | None = None) -> VerifiedBundle:
    """Verify bytes already in memory: the signature over the raw bytes first, then (and
    only then) inflate and CRC-check every entry and parse the manifest."""
    record, digest, entries = verify_signature(data, trust, limits=limits, path=path,
                                               entries=entries, hashed=hashed)
    contents = zf.Contents(data, entries)
    contents.check(limits)
    manifest_bytes = bytes(contents[zf.MANIFEST_NAME])
    manifest = parse_manifest(manifest_bytes, limits=limits)
    _check_entry_point(manifest, contents)
    return _issue(VerifiedBundle(manifest, manifest_bytes, digest, record.key_id,
                                 record.publisher, data, contents, entries))


def _check_entry_point(manifest: PluginManifest, contents: Mapping[str, bytes]) -> None:
    parts = manifest.module.split(".")
    if any(not p for p in parts):
        raise BundleInvalidError(f"entry_point module {manifest.module!r} is malformed")
    for i in range(1, len(parts)):
        package = "/".join(parts[:i]) + "/__init__.py"
        if package not in contents:
            raise BundleInvalidError(
                f"entry_point {manifest.entry_point!r} needs {package} in the bundle",
                plugin=manifest.name,
            )
    base = "/".join(parts)
    if f"{base}.py" not in contents and f"{base}/__init__.py" not in contents:
        raise BundleInvalidError(
            f"entry_point {manifest.entry_point!r}: neither {base}.py nor {base}/__init__.py "
            "is in the bundle", plugin=manifest.name,
        )
