"""Read bundle files from disk, bounded: the I/O side of verification.

Two reads, both through :func:`pepperpy.bundle.fileio.open_regular` (a FIFO or device is
refused before a byte is read):

- :func:`read_signer` reads only the end record, the central directory (its size
  checked against the entry count first) and the signature entry: at most a few MB
  whatever the file declares. Listings and discovery use it to learn which key signed a
  file before deciding whether to read the rest, so a hostile file from no trusted
  publisher costs a few small reads.
- :func:`read_bundle` reads the whole file once, its size checked before reading; every
  later step (verify, install copy, import) uses those bytes, never the path again.

Errors are ``BundleInvalidError`` naming the file; nothing here parses ``plugin.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pepperpy._record import record
from pepperpy.bundle import zipformat as zf
from pepperpy.bundle.fileio import open_regular
from pepperpy.bundle.limits import DEFAULT_LIMITS, Limits
from pepperpy.bundle.names import SIGNATURE_NAME
from pepperpy.core import BundleInvalidError

__all__ = ["Signer", "read_bundle", "read_signer"]


@record
class Signer:
    """What the signature entry of an unverified file claims: only a key id, and the size."""

    key_id: str
    size: int


def read_bundle(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes: a regular file only, size limit checked before reading."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            _check_size(size, limits, path)
            data = handle.read(limits.max_bundle_size + 1)
    except OSError as exc:
        raise BundleInvalidError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    _check_size(len(data), limits, path)
    return data


def read_signer(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> Signer:
    """The key id in ``path``'s signature entry, reading a bounded tail of the file."""
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            _check_size(size, limits, path)
            if size < zf.END_SIZE:
                raise BundleInvalidError("file too short to be a bundle", path=str(path))
            fh.seek(size - zf.END_SIZE)
            count, cd_offset, cd_size = zf.parse_end_record(
                fh.read(zf.END_SIZE), file_size=size, limits=limits)
            fh.seek(cd_offset)
            entries = zf.parse_central_directory(
                fh.read(cd_size), count=count, cd_offset=cd_offset, limits=limits)
            last = entries[-1]
            if last.name != SIGNATURE_NAME:
                raise BundleInvalidError(
                    f"the last entry must be {SIGNATURE_NAME} (is the bundle signed?)",
                    path=str(path))
            if last.method != zf.STORED or last.size > limits.max_signature_entry_size:
                raise BundleInvalidError("the signature entry is malformed", path=str(path))
            fh.seek(last.header_offset)
            blob = fh.read(last.data_offset - last.header_offset + last.compressed_size)
    except OSError as exc:
        raise BundleInvalidError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    from pepperpy.bundle.signing import parse_signature_entry

    zf.check_local_header(blob, last)
    key_id, _signature = parse_signature_entry(blob[last.data_offset - last.header_offset:])
    return Signer(key_id, size)


def _check_size(size: int, limits: Limits, path: Path) -> None:
    if size > limits.max_bundle_size:
        raise BundleInvalidError(
            f"file is {size} bytes, above the {limits.max_bundle_size}-byte limit",
            path=str(path))

