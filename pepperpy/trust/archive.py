"""The archive: the one canonical ZIP layout PepperPy reads, and which entries it may hold.

Bytes in, entries out; no file I/O. Python's ``zipfile`` and ``zipimport`` can read one
file as two different archives, so the reader accepts exactly what the builder emits and
leaves nothing for a second parser to interpret differently. Invariants:

* local entries start at offset 0, follow central-directory order, with no gaps;
* the central directory follows the last entry's data directly, and exactly one 22-byte
  end record with no comment follows it and ends at EOF (no ZIP64 records, no
  self-extractor prefix, no trailing bytes);
* every header has fixed values: version 2.0 (made by Unix 2.0), flags 0 (no
  encryption, no data descriptor, no UTF-8 flag: names are ASCII), time 00:00 and date
  1980-01-01, no extra field, no comment, disk 0, internal attributes 0, external
  attributes "regular file 0644" (no symlinks, no folders);
* only methods 0 (stored, sizes equal) and 8 (raw deflate);
* local and central headers agree on every field, names included; CRC-32 is checked;
* a name is ASCII from ``[A-Za-z0-9._/-]``, relative, with no empty, ``.``, ``..`` or
  hidden segment (no zip slip, no backslash or NUL tricks); names are unique ignoring
  case and strictly sorted, except that the signature entry comes last;
* a file is ``plugin.json`` (root only), ``*.py``, a data file with an allowed extension
  or a known extension-less text file; never bytecode, native code, ``.pth``; a module
  ``m.py`` beside a package ``m/`` is refused (one candidate per module name);
* sizes and compression ratio are checked against :class:`Limits` before inflating, and
  inflating stops one byte past the declared size (bounded memory for zip bombs).
"""

from __future__ import annotations

import zlib
from _struct import Struct  # struct.py is only a re-export of it
from collections.abc import Iterable, Iterator, Mapping, Sequence

from pepperpy.core import BundleInvalidError
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, ZipEntry

__all__ = ["CENTRAL_SIZE", "END_SIZE", "LOCAL_SIZE", "MANIFEST_NAME", "SIGNATURE_NAME", "Contents",
           "check_archive", "check_contents", "check_layout", "check_local_header", "data_of",
           "file_kind", "inflate", "name_problem", "parse_archive", "parse_central_directory",
           "parse_end_record"]

MANIFEST_NAME = "plugin.json"
SIGNATURE_NAME = ".pepperpy-signature"
DATA_EXTENSIONS = frozenset({".json", ".txt", ".md", ".csv", ".tsv", ".toml", ".yaml", ".yml",
                            ".onnx", ".model", ".bin", ".vocab", ".gguf"})
EXTENSIONLESS_NAMES = frozenset({"LICENSE", "README", "NOTICE", "COPYING", "py.typed"})
_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-"


def name_problem(name: str, *, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Return why ``name`` is not a safe entry name, or None when it is."""
    if not name:
        return "empty entry name"
    if len(name) > limits.max_name_length:
        return f"entry name longer than {limits.max_name_length} bytes"
    if name.strip(_NAME_CHARS):  # a character outside the set (no regex compiled at import)
        return (f"entry name {name!r} has characters outside [A-Za-z0-9._/-] "
                "(no backslash, NUL, spaces or non-ASCII)")
    if name == SIGNATURE_NAME:
        return None
    segments = name.split("/")
    if len(segments) > limits.max_name_depth:
        return f"entry name {name!r} is deeper than {limits.max_name_depth} folders"
    for segment in segments:
        if segment == "":
            return f"entry name {name!r} is absolute or has an empty segment"
        if segment in (".", ".."):
            return f"entry name {name!r} has a '{segment}' segment (path traversal)"
        if segment.startswith("."):
            return f"entry name {name!r} has a hidden segment {segment!r}"
    return None


def file_kind(name: str) -> str | None:
    """``"manifest"``, ``"code"`` or ``"data"`` for an allowed file, None otherwise."""
    if name == MANIFEST_NAME:
        return "manifest"
    base = name.rsplit("/", 1)[-1]
    if base in EXTENSIONLESS_NAMES:
        return "data"
    dot = base.rfind(".")
    if dot <= 0:
        return None
    ext = base[dot:].lower()
    if ext == ".py" and base[dot:] == ext:
        return "code"
    if ext in DATA_EXTENSIONS:
        return "data"
    return None


def check_layout(names: Iterable[str]) -> str | None:
    """Return why this set of plugin file names is unsafe together, or None.

    ``names`` excludes the signature entry. Checks file types, case-insensitive
    uniqueness, file/folder clashes and module shadowing.
    """
    lowered: dict[str, str] = {}
    folders: set[str] = set()
    for name in names:
        if file_kind(name) is None:
            return (
                f"file {name!r} is not an allowed type (allowed: plugin.json, *.py, "
                f"{', '.join(sorted(DATA_EXTENSIONS))}, {', '.join(sorted(EXTENSIONLESS_NAMES))})")
        low = name.lower()
        if low in lowered:
            return f"entries {lowered[low]!r} and {name!r} differ only by case"
        lowered[low] = name
        parts = low.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    for low, name in lowered.items():
        if low in folders:
            return f"{name!r} is both a file and a folder"
        if low.endswith(".py") and low[:-3] in folders:
            return (f"module {name!r} is shadowed by package folder {name[:-3] + '/'!r}; "
                    "keep only one of them")
    return None


LOCAL_SIG, CENTRAL_SIG, END_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
LOCAL = Struct("<4sHHHHHIIIHH")
CENTRAL = Struct("<4sHHHHHHIIIHHHHHII")
END = Struct("<4sHHHHIIH")
LOCAL_SIZE, CENTRAL_SIZE, END_SIZE = LOCAL.size, CENTRAL.size, END.size  # 30, 46, 22

VERSION = 20
MADE_BY = (3 << 8) | VERSION
FLAGS = DOS_TIME = 0
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
EXTERNAL_ATTR = 0o100644 << 16
STORED, DEFLATED = 0, 8
_FIX = " (rebuild the bundle with `pepperpy plugin build`)"


def _refuse(reason: str) -> BundleInvalidError:
    return BundleInvalidError(reason + _FIX)


def parse_end_record(tail: bytes, *, file_size: int, limits: Limits) -> tuple[int, int, int]:
    """Check the 22-byte end record; return (entry count, CD offset, CD size)."""
    if file_size > limits.max_bundle_size:
        raise BundleInvalidError(
            f"file is {file_size} bytes, above the {limits.max_bundle_size}-byte limit")
    if file_size < END_SIZE or len(tail) != END_SIZE:
        raise BundleInvalidError(f"not a bundle: {file_size} bytes is too short for a ZIP file")
    sig, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment = END.unpack(tail)
    if sig != END_SIG:
        raise BundleInvalidError(
            "not a canonical bundle: the file does not end with a ZIP end record "
            "(not a ZIP, truncated, has a comment, or has bytes appended)")
    if (disk, cd_disk, comment) != (0, 0, 0) or n_disk != n_total:
        raise _refuse("the end record declares multiple disks or a comment")
    if n_total == 0 or n_total > limits.max_entries:
        raise BundleInvalidError(
            f"the archive declares {n_total} entries; expected 1 to {limits.max_entries}")
    if cd_offset + cd_size != file_size - END_SIZE:
        raise _refuse("the central directory does not end exactly at the end record "
                      "(bytes were inserted, removed or appended)")
    if n_total * CENTRAL_SIZE > cd_size:
        raise _refuse("the central directory is smaller than its entry count requires")
    if cd_size > n_total * (CENTRAL_SIZE + limits.max_name_length):
        # Checked before the directory is read: a sparse file declaring a huge
        # directory costs nothing to refuse.
        raise _refuse("the central directory is larger than its entries' names allow")
    return n_total, cd_offset, cd_size


def _check_central(fields: tuple, index: int) -> None:
    (sig, made_by, needed, flags, method, mtime, mdate, _crc, csize, usize, _nlen, elen,
     clen, disk, internal, external, _offset) = fields
    where = f"central header {index}"
    if sig != CENTRAL_SIG:
        raise _refuse(f"{where}: bad signature (bytes inserted or removed)")
    if flags & 1:
        raise BundleInvalidError(f"{where}: entry is encrypted; bundles are never encrypted")
    if flags & 8:
        raise _refuse(f"{where}: data descriptors (flag bit 3) are not allowed")
    if (made_by, needed, flags) != (MADE_BY, VERSION, FLAGS):
        raise _refuse(f"{where}: version/flags {made_by:#x}/{needed}/{flags:#x} are not canonical")
    if external != EXTERNAL_ATTR:
        raise BundleInvalidError(
            f"{where}: file mode {external >> 16:#o} is not a regular 0644 file "
            "(symlinks, folders and executables are refused)")
    if method not in (STORED, DEFLATED):
        raise BundleInvalidError(f"{where}: compression method {method}; only 0 and 8 allowed")
    if (mtime, mdate, elen, clen, disk, internal) != (DOS_TIME, DOS_DATE, 0, 0, 0, 0):
        raise _refuse(f"{where}: timestamp, extra field, comment or disk fields not canonical")
    if method == STORED and csize != usize:
        raise _refuse(f"{where}: stored entry with different compressed and real sizes")


def _check_sizes(name: str, csize: int, usize: int, total: int, limits: Limits) -> None:
    if usize > limits.max_entry_size or csize > limits.max_entry_size:
        raise BundleInvalidError(
            f"entry {name!r} declares {usize} bytes, above the {limits.max_entry_size} limit")
    if total > limits.max_total_size:
        raise BundleInvalidError(
            f"entries total more than the {limits.max_total_size}-byte limit when inflated")
    if usize > limits.ratio_floor and usize > max(csize, 1) * limits.max_compression_ratio:
        raise BundleInvalidError(f"entry {name!r} inflates {usize // max(csize, 1)}x, above the "
                                 f"{limits.max_compression_ratio}x limit (zip bomb?)")


def _check_name_order(last: str, name: str, seen: set[str]) -> None:
    if name == SIGNATURE_NAME:
        return
    if last == SIGNATURE_NAME:
        raise _refuse(f"entry {name!r} follows the signature entry, which must be last")
    if last and name <= last:
        raise _refuse(f"entry {name!r} is out of order or duplicated (after {last!r})")
    if name.lower() in seen:
        raise BundleInvalidError(f"entry {name!r} duplicates another entry (ignoring case)")


def parse_central_directory(
    cd: bytes, *, count: int, cd_offset: int, limits: Limits = DEFAULT_LIMITS) -> list[ZipEntry]:
    """Parse and check ``count`` central headers that fill ``cd`` exactly.

    Offsets are checked to be contiguous assuming each local header is 30 bytes plus
    the name; :func:`parse_archive` then checks the local headers themselves.
    """
    entries: list[ZipEntry] = []
    seen: set[str] = set()
    pos = expected_offset = total = 0
    for index in range(count):
        if pos + CENTRAL_SIZE > len(cd):
            raise _refuse(f"central header {index} runs past the central directory")
        fields = CENTRAL.unpack_from(cd, pos)
        _check_central(fields, index)
        crc, csize, usize, nlen, offset = fields[7], fields[8], fields[9], fields[10], fields[16]
        raw_name = cd[pos + CENTRAL_SIZE: pos + CENTRAL_SIZE + nlen]
        if len(raw_name) != nlen:
            raise _refuse(f"central header {index}: name runs past the central directory")
        try:
            name = raw_name.decode("ascii")
        except UnicodeDecodeError:
            raise BundleInvalidError(f"entry {raw_name!r}: name is not ASCII") from None
        if problem := name_problem(name, limits=limits):
            raise BundleInvalidError(problem)
        _check_name_order(entries[-1].name if entries else "", name, seen)
        total += usize
        _check_sizes(name, csize, usize, total, limits)
        if offset != expected_offset:
            raise _refuse(f"entry {name!r} starts at offset {offset}, expected {expected_offset} "
                          "(gap, overlap or reordering)")
        data_offset = offset + LOCAL_SIZE + nlen
        entries.append(ZipEntry(name, fields[4], crc, csize, usize, offset, data_offset))
        seen.add(name.lower())
        expected_offset = data_offset + csize
        pos += CENTRAL_SIZE + nlen
    if pos != len(cd):
        raise _refuse("the central directory has bytes after its last header")
    if expected_offset != cd_offset:
        raise _refuse("entries do not end exactly where the central directory starts")
    return entries


def check_local_header(buf: bytes | bytearray | memoryview, entry: ZipEntry) -> None:
    """Check that the local header at the start of ``buf`` is exactly the one ``entry``
    implies (the one ``plugin build`` writes), name included."""
    expected = LOCAL.pack(LOCAL_SIG, VERSION, FLAGS, entry.method, DOS_TIME, DOS_DATE,
                          entry.crc, entry.compressed_size, entry.size, len(entry.name), 0)
    if bytes(buf[:LOCAL_SIZE + len(entry.name)]) != expected + entry.name.encode("ascii"):
        raise _refuse(f"entry {entry.name!r}: local header disagrees with the central directory")


def parse_archive(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[ZipEntry]:
    """The entries of ``data``'s end record and central directory, in archive order (the
    rest of the layout: :func:`check_archive`, on the pieces of one pass)."""
    count, cd_offset, cd_size = parse_end_record(
        data[max(len(data) - END_SIZE, 0):], file_size=len(data), limits=limits)
    return parse_central_directory(
        data[cd_offset: cd_offset + cd_size], count=count, cd_offset=cd_offset, limits=limits)


def check_archive(pieces: Sequence[bytes | bytearray | memoryview], entries: Sequence[ZipEntry],
                  size: int) -> None:
    """The rest of the layout, on the pieces one pass over the file kept (entry ``i``'s
    piece starts at its local header; the last one runs to the end of the file): the
    bytes after the signed prefix are exactly the central directory and end record these
    entries imply (so no ZIP64 record or locator, no comment, nothing between them), and
    every local header agrees with its central header.

    The gate parses the directory from a first read of the file and checks these rules
    on the second read's bytes; the end record is outside the signed bytes, so a file
    changed in between must not leave a second, non-canonical end record (and so a
    second digest that dodges a revocation) in the bytes that are verified.
    """
    cd_offset = entries[-1].data_offset + entries[-1].compressed_size
    directory = b"".join(
        CENTRAL.pack(CENTRAL_SIG, MADE_BY, VERSION, FLAGS, e.method, DOS_TIME, DOS_DATE, e.crc,
                     e.compressed_size, e.size, len(e.name), 0, 0, 0, 0, EXTERNAL_ATTR,
                     e.header_offset) + e.name.encode("ascii") for e in entries)
    end = END.pack(END_SIG, 0, 0, len(entries), len(entries), len(directory), cd_offset, 0)
    tail = memoryview(pieces[-1])[cd_offset - entries[-1].header_offset:]
    if cd_offset + len(directory) + END_SIZE != size or tail != directory + end:
        raise _refuse("the central directory or end record does not match the entries (the "
                      "file changed while it was read, or bytes were altered)")
    for piece, entry in zip(pieces, entries, strict=True):
        check_local_header(piece, entry)


def data_of(piece: bytes | bytearray | memoryview, entry: ZipEntry) -> memoryview:
    """``entry``'s raw (stored or deflated) bytes, from its piece."""
    start = entry.data_offset - entry.header_offset
    raw = memoryview(piece)[start: start + entry.compressed_size]
    if len(raw) != entry.compressed_size:
        raise _refuse(f"entry {entry.name!r}: data truncated")
    return raw


def check_contents(pieces: Sequence[bytes | bytearray | memoryview],
                   entries: Sequence[ZipEntry], crcs: Sequence[int], *, keep: bool = True,
                   limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Step 6, after the signature: every file's CRC-32 (a stored entry's came with the
    pass; a deflated one is inflated from its piece, bounded); the inflated contents
    (with ``keep=False`` only ``plugin.json``'s)."""
    inflated: dict[str, bytes] = {}
    for piece, entry, crc in zip(pieces, entries, crcs, strict=True):
        if entry.method == DEFLATED:
            content = inflate(data_of(piece, entry), entry)
            crc = zlib.crc32(content)
            if keep or entry.name == MANIFEST_NAME:
                inflated[entry.name] = content
        if crc != entry.crc:
            raise BundleInvalidError(f"entry {entry.name!r}: CRC-32 mismatch (corrupted data)")
    return inflated


def inflate(raw: memoryview, entry: ZipEntry) -> bytes:
    """``entry``'s raw deflate bytes inflated: inflating stops one byte past the declared
    size, so memory stays bounded by the (already limited) declared size."""
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw, entry.size + 1)
    except zlib.error as exc:
        raise BundleInvalidError(f"entry {entry.name!r}: corrupt deflate data ({exc})") from None
    if len(out) > entry.size or inflater.unconsumed_tail:
        raise BundleInvalidError(
            f"entry {entry.name!r} inflates past its declared {entry.size} bytes (zip bomb?)")
    if len(out) != entry.size or not inflater.eof or inflater.unused_data:
        raise BundleInvalidError(
            f"entry {entry.name!r}: deflate stream does not match its declared size")
    return out


class Contents(Mapping[str, bytes]):
    """Entry contents by name, read from the verified bytes on access (stored entries
    sliced; deflated ones as the verification inflated them, kept)."""

    def __init__(self, data: bytes, entries: Iterable[ZipEntry],
                 inflated: dict[str, bytes] | None = None) -> None:
        self._data = data
        self._entries = {e.name: e for e in entries if e.name != SIGNATURE_NAME}
        self._inflated = inflated if inflated is not None else {}

    def __getitem__(self, name: str) -> bytes:
        entry = self._entries[name]
        if entry.method == STORED:
            return self._data[entry.data_offset: entry.data_offset + entry.size]
        if name not in self._inflated:  # bounded and CRC-checked, as verification does
            self._inflated.update(check_contents([memoryview(self._data)[entry.header_offset:]],
                                                 [entry], [0]))
        return self._inflated[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
