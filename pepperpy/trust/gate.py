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

import contextlib
import os
import stat
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pepperpy._record import record
from pepperpy.core import BundleInvalidError, PepperpyError
from pepperpy.trust import archive as zf
from pepperpy.trust import authentic
from pepperpy.trust.manifest import check_entry_point, from_cache, parse_manifest
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, TrustSnapshot, VerifiedBundle, ZipEntry

__all__ = ["Trust", "authenticate", "issued", "open_regular", "read_bundle",
           "screen", "verify_bundle"]

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a folder"))
_ISSUED: weakref.WeakValueDictionary[int, VerifiedBundle] = weakref.WeakValueDictionary()


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary reader on ``path``; ``BundleInvalidError`` if it is not a regular file.
    ``OSError`` from opening (missing file, no permission) propagates unchanged."""
    fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
            raise BundleInvalidError(f"not a regular file ({kind}); a bundle must be a plain "
                                     "file: delete or rename it", path=str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@record
class Trust:
    """The trust snapshot, its fingerprint, and the verified cache (``get``/``put`` by
    digest: ``pepperpy.bundle.trust.VerifiedCache``) that goes with them."""

    snapshot: TrustSnapshot
    fingerprint: str
    cache: Any

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


@contextlib.contextmanager
def _reading(path: Path, found: dict[str, str | None]) -> Iterator[BinaryIO]:
    """Open ``path``; every refusal inside names the file (and the key, once known), and
    ``OSError`` becomes a ``BundleInvalidError``."""
    try:
        with open_regular(path) as handle:
            yield handle
    except OSError as exc:
        raise BundleInvalidError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    except PepperpyError as exc:
        if getattr(exc, "key_id", None) is None:
            exc.key_id = found.get("key_id")  # type: ignore[attr-defined]
        if exc.args and str(path) not in str(exc.args[0]):
            exc.args = (f"{path}: {exc.args[0]}", *exc.args[1:])
        if isinstance(exc, BundleInvalidError) and exc.path is None:
            exc.path = str(path)
        raise


def _size(handle: BinaryIO, limits: Limits) -> int:
    size = os.fstat(handle.fileno()).st_size
    if size > limits.max_bundle_size:
        raise BundleInvalidError(f"file is {size} bytes, above the {limits.max_bundle_size}-"
                                 "byte limit; it is not a bundle PepperPy can load")
    return size


def _screen(handle: BinaryIO, trust: TrustSnapshot, limits: Limits, found: dict[str, str | None]
            ) -> tuple[int, bytes, tuple[ZipEntry, ...]]:
    """Step 2 on an open file: (size, directory bytes, entries); the key checked."""
    size = _size(handle, limits)
    if size < zf.END_SIZE:
        raise BundleInvalidError("file too short to be a bundle")
    handle.seek(size - zf.END_SIZE)
    count, cd_offset, cd_size = zf.parse_end_record(
        handle.read(zf.END_SIZE), file_size=size, limits=limits)
    handle.seek(cd_offset)
    directory = handle.read(cd_size)
    entries = tuple(zf.parse_central_directory(directory, count=count, cd_offset=cd_offset,
                                               limits=limits))
    last = authentic.check_directory(entries, limits)
    handle.seek(last.header_offset)
    blob = handle.read(last.data_offset - last.header_offset + last.compressed_size)
    zf.check_local_header(blob, last)
    key_id, _ = authentic.parse_signature_entry(blob[last.data_offset - last.header_offset:])
    found["key_id"] = key_id
    authentic.check_key(trust, key_id, None)
    return size, directory, entries


def screen(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The trusted key id ``path`` names, reading only its directory and signature."""
    found: dict[str, str | None] = {}
    with _reading(path, found) as handle:
        _screen(handle, trust.snapshot, limits, found)
    return str(found["key_id"])


def read_bundle(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, unverified (``inspect``, ``verify``): a regular file, bounded."""
    with _reading(path, {}) as handle:
        size = _size(handle, limits)
        data = handle.read(size + 1)
        if len(data) != size:
            raise BundleInvalidError("the file changed while it was read; try again")
    return data


def authenticate(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS
                 ) -> VerifiedBundle:
    """Steps 1-5: the file's bytes, verified (or found verified under this trust)."""
    found: dict[str, str | None] = {}
    with _reading(path, found) as handle:
        size, directory, entries = _screen(handle, trust.snapshot, limits, found)
        handle.seek(0)
        data = handle.read(size + 1)
        cd_offset = entries[-1].data_offset + entries[-1].compressed_size
        if len(data) != size or data[cd_offset: cd_offset + len(directory)] != directory:
            raise BundleInvalidError("the file changed while it was read; try again")
        hashed = authentic.file_digests(data, entries)  # one pass: digest and prefix
        digest = hashed[1]
        hit = trust.cache.get(digest)
        if hit is not None and hit.get("trust") != trust.fingerprint:
            hit = None  # verified under another trust store: it proves nothing now
        manifest = from_cache(hit["manifest"]) if hit is not None else None
        if hit is not None and manifest is not None:
            return _issue(VerifiedBundle(manifest, hit["manifest"].encode(), digest,
                                         hit["key_id"], hit["publisher"], data,
                                         zf.Contents(data, entries), entries))
        verified = verify_bundle(data, trust.snapshot, limits=limits, entries=entries,
                                 hashed=hashed)
    trust.cache.put(digest, {"trust": trust.fingerprint, "key_id": verified.key_id,
                             "publisher": verified.publisher,
                             "manifest": verified.manifest_bytes.decode("utf-8")})
    return verified


def verify_bundle(data: bytes, trust: TrustSnapshot, *, limits: Limits = DEFAULT_LIMITS,
                  path: str | None = None, entries: tuple[ZipEntry, ...] | None = None,
                  hashed: tuple[str, str] | None = None) -> VerifiedBundle:
    """Verify bytes already in memory: the signature over the raw bytes first, then (and
    only then) inflate and CRC-check every entry and parse the manifest."""
    record, digest, entries = authentic.verify_signature(
        data, trust, limits=limits, path=path, entries=entries, hashed=hashed)
    contents = zf.Contents(data, entries)
    contents.check(limits)
    manifest_bytes = bytes(contents[zf.MANIFEST_NAME])
    manifest = parse_manifest(manifest_bytes, limits=limits)
    check_entry_point(manifest, contents)
    return _issue(VerifiedBundle(manifest, manifest_bytes, digest, record.key_id,
                                 record.publisher, data, contents, entries))
