"""The gate: from a bundle file to a ``VerifiedBundle``. The kernel's only I/O.

Every path PepperPy loads, installs, lists or checks comes through :func:`authenticate`
(the bytes kept), :func:`check` (``plugin verify`` and discovery: the bytes streamed, not
kept) or, for bytes already in memory, :func:`verify_bundle`. Order, cheapest first:

1. open once with ``O_NONBLOCK`` and refuse anything but a regular file (``fstat`` on
   the descriptor that is then read: a FIFO or device never blocks, nothing is swapped
   in between);
2. screen: read only the end record, the central directory (its size bounded by the
   entry count before it is read) and the signature entry, and check that the key it
   names is trusted, strong and unrevoked. A file nobody trusts costs a few small reads;
3. one pass over the whole file through the same descriptor (``authentic.scan``): read
   into memory with one ``pread`` and taken in 1 MiB slices (``authenticate``), or read
   in 1 MiB chunks into one reused buffer (``check``); each slice is hashed while, if it
   belongs to a stored entry, a second thread CRC-checks it (``pepperpy._crcs``). A file
   that grows or shrinks meanwhile is refused; the directory read in step 2 must be the
   one in these bytes (``archive.check_archive``), so it is parsed once;
4. a digest verified before under this trust fingerprint (the verified cache) skips the
   rest, once the screened directory is shown to be the one in the hashed bytes
   (``archive.check_archive``: else a directory swapped in between would be used to slice
   verified bytes); otherwise ``authentic.verify_pass`` decides the signature, and only then are
   deflated entries inflated (bounded) and every CRC compared, and ``plugin.json`` parsed
   (``manifest.py``);
5. hand back a ``VerifiedBundle`` (the only object ``sealed.import_bundle`` accepts, and
   only for bytes held in memory) or, from ``check``, a ``Verified`` summary.

Every later step (install copy, import, data reads) uses those bytes, never the path.
Refusals are ``PepperpyError``s naming the file, the reason and the fix; nothing here
writes anything but the verified cache (``PEPPERPY_HOME/verified.json``), best effort.
"""

from __future__ import annotations

import contextlib
import os
import stat
from _weakref import ref  # weakref's C type; the weakref module costs 0.4 ms to import
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pepperpy import _jsonio as json  # json.loads without importing json (_jsonio.py)
from pepperpy._record import record
from pepperpy.core import BundleInvalidError, PepperpyError
from pepperpy.trust import archive as zf
from pepperpy.trust import authentic, types
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, TrustSnapshot, VerifiedBundle, ZipEntry

__all__ = ["Trust", "Verified", "authenticate", "check", "from_cache", "issued",
           "open_regular", "read_bundle", "verify_bundle"]

_CHUNK = authentic.CHUNK  # 1 MiB reads: few hand-overs to the CRC thread
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
_ISSUED: dict[int, ref[VerifiedBundle]] = {}  # id -> weak reference, dropped when it dies


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary reader on ``path``; ``BundleInvalidError`` if it is not a regular file.
    ``OSError`` from opening (missing file, no permission) propagates unchanged."""
    fd = os.open(path, _FLAGS)
    try:
        if not stat.S_ISREG(mode := os.fstat(fd).st_mode):
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
        return frozenset(getattr(self.snapshot.get(key_id), "scopes", None) or ())


@record
class Verified:
    """What verifying a file established, without keeping its bytes (:func:`check`)."""

    manifest: types.PluginManifest
    manifest_bytes: bytes
    digest: str
    key_id: str
    publisher: str


def from_cache(raw: object) -> types.PluginManifest | None:
    """A manifest the verified cache recorded (it passed every check), or None if the
    entry is damaged (then the bundle is verified again). A hit needs nothing else from
    ``manifest.py``, which is imported only to parse a manifest (``_verify``)."""
    try:
        return types.from_validated(json.loads(raw))  # type: ignore[arg-type]
    except (ValueError, TypeError, KeyError):
        return None


def issued(bundle: VerifiedBundle) -> bool:
    """True for a ``VerifiedBundle`` this gate handed out in this process."""
    return (held := _ISSUED.get(id(bundle))) is not None and held() is bundle


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[tuple[BinaryIO, dict[str, str | None]]]:
    """Open ``path``; every refusal inside names the file (and the key, once known in
    ``found["key_id"]``), and ``OSError`` becomes a ``BundleInvalidError``."""
    found: dict[str, str | None] = {}
    try:
        with open_regular(path) as handle:
            yield handle, found
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
    if (size := os.fstat(handle.fileno()).st_size) > limits.max_bundle_size:
        raise BundleInvalidError(f"file is {size} bytes, above the {limits.max_bundle_size}-"
                                 "byte limit; it is not a bundle PepperPy can load")
    return size


def _screen(handle: BinaryIO, trust: TrustSnapshot, limits: Limits, found: dict[str, str | None]
            ) -> tuple[int, tuple[ZipEntry, ...]]:
    """Step 2 on an open file: (size, entries); the layout rules and the key checked."""
    size, fd = _size(handle, limits), handle.fileno()  # a file under 22 bytes: no end record
    count, cd_offset, cd_size = zf.parse_end_record(
        os.pread(fd, zf.END_SIZE, max(size - zf.END_SIZE, 0)), file_size=size, limits=limits)
    entries = tuple(zf.parse_central_directory(os.pread(fd, cd_size, cd_offset), count=count,
                                               cd_offset=cd_offset, limits=limits))
    last = authentic.check_directory(entries, limits)
    blob = os.pread(fd, last.data_offset - last.header_offset + last.compressed_size,
                    last.header_offset)
    zf.check_local_header(blob, last)
    key_id, _ = authentic.parse_signature_entry(blob[last.data_offset - last.header_offset:])
    found["key_id"] = key_id
    authentic.check_key(trust, key_id, None)
    return size, entries


def _read_all(handle: BinaryIO, size: int) -> bytes:
    if len(data := os.pread(handle.fileno(), size + 1, 0)) != size:  # one read, whole
        raise BundleInvalidError("the file changed while it was read; try again")
    return data


def _chunks(handle: BinaryIO, size: int) -> Iterator[tuple[int, memoryview]]:
    """The file from its start, through ``handle``, in one reused 1 MiB buffer."""
    buffer, at = memoryview(bytearray(min(size, _CHUNK))), 0
    handle.seek(0)
    while at < size and (got := handle.readinto(buffer[:size - at])):  # type: ignore[attr-defined]
        yield at, buffer[:got]
        at += got
    if at != size or handle.read(1):
        raise BundleInvalidError("the file changed while it was read; try again")


def read_bundle(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, unverified (``inspect``): a regular file, bounded."""
    with _reading(path) as (handle, _):
        return _read_all(handle, _size(handle, limits))


def authenticate(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS) -> VerifiedBundle:
    """Steps 1-5: the file's bytes, verified (or found verified under this trust)."""
    return _bundle(*_gate(path, trust, limits, keep=True))


def check(path: Path, trust: Trust, *, limits: Limits = DEFAULT_LIMITS) -> Verified:
    """What :func:`authenticate` establishes, without keeping the bytes (``plugin verify``,
    discovery): one pass through a 1 MiB buffer keeps only the local headers, the raw
    deflated entries and ``plugin.json``, and the tail (docs/bundle-format.md, section 6)."""
    return _gate(path, trust, limits, keep=False)[0]


def _gate(path: Path, trust: Trust, limits: Limits, *, keep: bool
          ) -> tuple[Verified, dict[str, bytes], bytes, tuple[ZipEntry, ...]]:
    """Open, screen, then one pass: the whole file read into memory (``keep``) and hashed,
    or read in chunks and hashed as they arrive; then the cache or every check."""
    with _reading(path) as (handle, found):
        size, entries = _screen(handle, trust.snapshot, limits, found)
        data = _read_all(handle, size) if keep else b""
        scanned = authentic.scan(memoryview(data) if keep else _chunks(handle, size), entries,
                                 size)
        hit = trust.cache.get(digest := scanned[1])
        if hit is not None and hit.get("trust") != trust.fingerprint:
            hit = None  # verified under another trust store: it proves nothing now
        if hit is not None and (manifest := from_cache(hit["manifest"])) is not None:
            zf.check_archive(scanned[3], entries, size)  # the screen's directory is the hashed one
            return (Verified(manifest, hit["manifest"].encode(), digest, hit["key_id"],
                             hit["publisher"]), {}, data, entries)
        verified, inflated = _verify(scanned, entries, trust.snapshot, limits, keep=keep)
    trust.cache.put(digest, {"trust": trust.fingerprint, "key_id": verified.key_id,
                             "publisher": verified.publisher,
                             "manifest": verified.manifest_bytes.decode("utf-8")})
    return verified, inflated, data, entries


def verify_bundle(data: bytes, trust: TrustSnapshot, *, limits: Limits = DEFAULT_LIMITS,
                  path: str | None = None, entries: tuple[ZipEntry, ...] | None = None
                  ) -> VerifiedBundle:
    """Verify bytes already in memory (``entries``: their directory, already parsed)."""
    entries = tuple(entries or zf.parse_archive(data, limits=limits))
    authentic.check_directory(entries, limits)
    scanned = authentic.scan(memoryview(data), entries, len(data))
    return _bundle(*_verify(scanned, entries, trust, limits, path=path), data, entries)


def _verify(scanned: authentic.Pass, entries: tuple[ZipEntry, ...], trust: TrustSnapshot,
            limits: Limits, *, keep: bool = True, path: str | None = None
            ) -> tuple[Verified, dict[str, bytes]]:
    """Steps 2-6 on one pass: the signature over the raw bytes first, then (and only then)
    every entry inflated (bounded) and CRC-checked, the manifest parsed, the entry point."""
    from pepperpy.trust.manifest import check_entry_point, parse_manifest

    record = authentic.verify_pass(scanned, entries, trust, path=path)
    inflated = zf.check_contents(scanned[3], entries, scanned[2], keep=keep, limits=limits)
    at = [e.name for e in entries].index(zf.MANIFEST_NAME)
    raw = bytes(inflated.get(zf.MANIFEST_NAME, zf.data_of(scanned[3][at], entries[at])))
    manifest = parse_manifest(raw, limits=limits)
    check_entry_point(manifest, frozenset(e.name for e in entries))
    return Verified(manifest, raw, scanned[1], record.key_id, record.publisher), inflated


def _bundle(v: Verified, inflated: dict[str, bytes], data: bytes,
            entries: tuple[ZipEntry, ...]) -> VerifiedBundle:
    bundle = VerifiedBundle(v.manifest, v.manifest_bytes, v.digest, v.key_id, v.publisher,
                            data, zf.Contents(data, entries, inflated))
    key = id(bundle)  # a later object may reuse the id: its death drops only its own entry
    _ISSUED[key] = ref(bundle, lambda r: _ISSUED.get(key) is r and _ISSUED.pop(key))
    return bundle
