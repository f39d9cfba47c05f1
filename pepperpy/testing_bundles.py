"""Real signed bundles with throwaway keys, and raw-byte tampering, for tests.

``BundleFactory`` builds genuine ``.pepperplugin`` bytes (the same code path as
``pepperpy plugin build``), trusts its key into a PEPPERPY_HOME, and the module-level
helpers rewrite archives at the byte level to produce every malformed variant an
attacker could: they use their own lenient parser/writer, never the strict one.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pepperpy.bundle.build import sign_files
from pepperpy.bundle.keys import SigningKey
from pepperpy.bundle.trust import TrustedKey, TrustSnapshot, TrustStore

__all__ = [
    "BundleFactory",
    "RawEntry",
    "add_entry",
    "append_bytes",
    "duplicate_entry",
    "make_entry",
    "marker_plugin_files",
    "pack",
    "prepend_bytes",
    "remove_entry",
    "rename_entry",
    "replace_entry",
    "set_fields",
    "sign_raw",
    "unpack",
    "zip64_confusion",
]

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")


@dataclass
class RawEntry:
    """One entry with every header field exposed; ``payload`` is the stored bytes."""

    name: bytes
    payload: bytes
    method: int
    crc: int
    size: int
    version: int = 20
    made_by: int = 0x0314
    flags: int = 0
    time: int = 0
    date: int = 0x21
    external: int = 0o100644 << 16
    local_name: bytes | None = None
    local_extra: bytes = b""
    central_extra: bytes = b""
    local_overrides: dict[str, int] = field(default_factory=dict)

    @property
    def content(self) -> bytes:
        if self.method == 8:
            return zlib.decompress(self.payload, -15)
        return self.payload


def unpack(data: bytes) -> list[RawEntry]:
    """Lenient parse of a well-formed archive (end record at EOF, no comment)."""
    _, _, _, _, count, _cd_size, cd_offset, _ = _END.unpack_from(data, len(data) - 22)
    entries, pos = [], cd_offset
    for _ in range(count):
        f = _CENTRAL.unpack_from(data, pos)
        nlen, elen, clen, offset = f[10], f[11], f[12], f[16]
        name = data[pos + 46: pos + 46 + nlen]
        lf = _LOCAL.unpack_from(data, offset)
        start = offset + 30 + lf[9] + lf[10]
        entries.append(RawEntry(name, data[start: start + f[8]], f[4], f[7], f[9], f[2], f[1],
                                f[3], f[5], f[6], f[15]))
        pos += 46 + nlen + elen + clen
    return entries


def pack(
    entries: list[RawEntry], *, prefix: bytes = b"", comment: bytes = b"",
    count: int | None = None,
) -> bytes:
    """Write ``entries`` exactly as given (any order, any field values)."""
    out, central = bytearray(prefix), bytearray()
    for e in entries:
        offset = len(out)
        lname = e.name if e.local_name is None else e.local_name
        local = dict(version=e.version, flags=e.flags, method=e.method, time=e.time,
                     date=e.date, crc=e.crc, csize=len(e.payload), size=e.size)
        local.update(e.local_overrides)
        out += _LOCAL.pack(b"PK\x03\x04", local["version"], local["flags"], local["method"],
                           local["time"], local["date"], local["crc"], local["csize"],
                           local["size"], len(lname), len(e.local_extra))
        out += lname + e.local_extra + e.payload
        central += _CENTRAL.pack(b"PK\x01\x02", e.made_by, e.version, e.flags, e.method,
                                 e.time, e.date, e.crc, len(e.payload), e.size, len(e.name),
                                 len(e.central_extra), 0, 0, 0, e.external, offset)
        central += e.name + e.central_extra
    n = len(entries) if count is None else count
    cd_offset = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, n, n, len(central), cd_offset, len(comment)) + comment
    return bytes(out)


def make_entry(name: str | bytes, content: bytes, *, deflate: bool = False) -> RawEntry:
    raw_name = name.encode() if isinstance(name, str) else name
    if deflate:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        payload, method = c.compress(content) + c.flush(), 8
    else:
        payload, method = content, 0
    return RawEntry(raw_name, payload, method, zlib.crc32(content), len(content))


def _index(entries: list[RawEntry], name: str) -> int:
    for i, e in enumerate(entries):
        if e.name == name.encode():
            return i
    raise KeyError(name)


def replace_entry(data: bytes, name: str, content: bytes, *, fix_crc: bool = True) -> bytes:
    """Swap one entry's content (stored), recomputing the CRC unless told not to."""
    entries = unpack(data)
    i = _index(entries, name)
    crc = zlib.crc32(content) if fix_crc else entries[i].crc
    entries[i] = replace(entries[i], payload=content, method=0, crc=crc, size=len(content))
    return pack(entries)


def add_entry(data: bytes, name: str, content: bytes, *, position: int | None = None) -> bytes:
    """Insert a new entry (default: just before the signature entry)."""
    entries = unpack(data)
    entries.insert(len(entries) - 1 if position is None else position, make_entry(name, content))
    return pack(entries)


def remove_entry(data: bytes, name: str) -> bytes:
    entries = unpack(data)
    del entries[_index(entries, name)]
    return pack(entries)


def duplicate_entry(
    data: bytes, name: str, *, where: str = "after", content: bytes | None = None
) -> bytes:
    """Add a second entry named ``name`` before or after the original."""
    entries = unpack(data)
    i = _index(entries, name)
    dup = make_entry(name, entries[i].content if content is None else content)
    entries.insert(i if where == "before" else i + 1, dup)
    return pack(entries)


def rename_entry(data: bytes, old: str, new: str | bytes, *, local_only: bool = False) -> bytes:
    """Rename in both headers, or only in the local header (a two-parser trick)."""
    entries = unpack(data)
    i = _index(entries, old)
    raw = new.encode() if isinstance(new, str) else new
    entries[i] = replace(entries[i], local_name=raw) if local_only else replace(
        entries[i], name=raw
    )
    return pack(entries)


def set_fields(data: bytes, name: str, **fields: Any) -> bytes:
    """Change RawEntry fields (flags, external, method, time, local_overrides...)."""
    entries = unpack(data)
    i = _index(entries, name)
    entries[i] = replace(entries[i], **fields)
    return pack(entries)


def prepend_bytes(data: bytes, extra: bytes) -> bytes:
    return extra + data


def append_bytes(data: bytes, extra: bytes) -> bytes:
    return data + extra


def marker_plugin_files(marker: Path, *, name: str = "markerplugin") -> dict[str, bytes]:
    """A minimal plugin whose module writes ``marker`` when imported."""
    manifest = {"name": name, "version": "1.0.0", "category": "llm",
                "provider_name": name, "entry_point": f"{name}:Provider"}
    code = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
            "class Provider:\n    pass\n")
    return {"plugin.json": json.dumps(manifest, indent=2).encode(), f"{name}.py": code.encode()}


class BundleFactory:
    """Throwaway keys and genuine signed bundles for tests and plugin authors."""

    def __init__(self, *, publisher: str = "test-publisher") -> None:
        self.publisher = publisher
        self.key = SigningKey.generate()

    def __repr__(self) -> str:
        return f"<BundleFactory publisher={self.publisher!r} key={self.key.key_id[:16]}>"

    @staticmethod
    def manifest(**fields: Any) -> dict[str, Any]:
        base = {"name": "sample", "version": "1.0.0", "category": "llm",
                "provider_name": "sample", "entry_point": "sample:SampleProvider"}
        base.update(fields)
        return base

    def files(self, *, manifest: Mapping[str, Any] | None = None,
              extra: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
        """A small valid plugin; ``manifest`` fields override, ``extra`` adds files."""
        m = self.manifest(**(manifest or {}))
        module = m["entry_point"].split(":")[0].replace(".", "/") + ".py"
        files = {"plugin.json": json.dumps(m, indent=2).encode(),
                 module: f"class {m['entry_point'].split(':')[1]}:\n    pass\n".encode()}
        files.update(extra or {})
        return files

    def build(self, files: Mapping[str, bytes] | None = None, *,
              key: SigningKey | None = None) -> bytes:
        """Sign ``files`` (default: :meth:`files`) into bundle bytes. No checks skipped."""
        return sign_files(sorted((files or self.files()).items()), key or self.key)

    def build_raw(self, files: Mapping[str, bytes], *, key: SigningKey | None = None) -> bytes:
        """Alias of :meth:`build` that accepts manifests failing schema (signed anyway)."""
        return self.build(files, key=key)

    def build_folder(self, src: Path) -> bytes:
        from pepperpy.bundle.build import collect_files

        files, _ = collect_files(Path(src))
        return sign_files(files, self.key)

    def snapshot(self, *, revoked: bool = False,
                 revoked_bundles: frozenset[str] = frozenset()) -> TrustSnapshot:
        """An in-memory trust view holding only this factory's key."""
        rec = TrustedKey(self.key.key_id, self.publisher, self.key.public_key.raw,
                         "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z" if revoked else None)
        return TrustSnapshot(MappingProxyType({rec.key_id: rec}), frozenset(revoked_bundles))

    def trust(self, home: Path, *, scopes: tuple[str, ...] | None = None) -> TrustedKey:
        """Add this factory's key to ``home/trust.json`` (a real trust store)."""
        return TrustStore(Path(home) / "trust.json").add(
            self.key.public_key.pem(), publisher=self.publisher, scopes=scopes
        )

    def write_keys(self, folder: Path) -> tuple[Path, Path]:
        """Write ``publisher.key`` (0600) and ``publisher.pub`` for CLI tests."""
        import os

        folder.mkdir(parents=True, exist_ok=True)
        priv, pub = folder / f"{self.publisher}.key", folder / f"{self.publisher}.pub"
        fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.key.private_pem())
        pub.write_bytes(self.key.public_key.pem())
        return priv, pub


def sign_raw(files: list[tuple[str | bytes, bytes]], key: SigningKey, *,
             deflate: bool = False, entries: list[RawEntry] | None = None) -> bytes:
    """Sign ``files`` (or ready-made ``entries``) in the given order with no policy checks
    (to craft bad bundles).

    The signature is genuine, so a refusal proves the structural or policy check works,
    not the signature check.
    """
    import hashlib

    from pepperpy.trust.authentic import encode_signature_entry, statement

    entries = entries if entries is not None else [
        make_entry(n, c, deflate=deflate) for n, c in files]
    body = pack(entries)
    prefix = body[: struct.unpack_from("<I", body, len(body) - 6)[0]]
    sig = key.sign(statement(hashlib.sha256(prefix).hexdigest()))
    sig_entry = encode_signature_entry(key_id=key.key_id, signature=sig)
    return pack([*entries, make_entry(".pepperpy-signature", sig_entry)])


def zip64_confusion(good: bytes, extra_name: str, extra_content: bytes) -> bytes:
    """Two archives in one file: the signed one for ``zipfile``, plus an extra entry.

    A ZIP64 end record points ``zipfile`` at the signed central directory, while the
    classic end record (which Python 3.11's ``zipimport`` reads, ignoring ZIP64) points
    at a directory that also lists ``extra_name``. Verification must refuse it.
    """
    signed = unpack(good)
    body = pack([*signed, make_entry(extra_name, extra_content)])
    cd_start = struct.unpack_from("<I", body, len(body) - 6)[0]
    locals_, full_cd = body[:cd_start], body[cd_start: len(body) - 22]
    sizes, pos = [], 0
    while pos < len(full_cd):
        size = 46 + struct.unpack_from("<H", full_cd, pos + 28)[0]
        sizes.append(size)
        pos += size
    signed_cd, extra_cd = full_cd[: sum(sizes[:-1])], full_cd[sum(sizes[:-1]):]
    classic_cd = extra_cd + signed_cd
    off_classic, n = len(locals_), len(signed)
    off_signed = off_classic + len(extra_cd)
    z64_end = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n,
                          len(signed_cd), off_signed)
    z64_loc = struct.pack("<4sIQI", b"PK\x06\x07", 0, off_classic + len(classic_cd), 1)
    tail = len(classic_cd) + len(z64_end) + len(z64_loc)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n + 1, n + 1, tail, off_classic, 0)
    return locals_ + classic_cd + z64_end + z64_loc + end
