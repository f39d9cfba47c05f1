"""A report on any bundle, trusted or not, for ``pepperpy plugin inspect``. No I/O.

What a report shows of a bundle that did not verify is what the signature check found
(its key id, whether the key is trusted or revoked, the reason for the refusal, each
file's size and hash), never what its ``plugin.json`` claims: those claims are
attacker-controlled. With ``unverified=True`` the manifest is shown too, as JSON parsed
by the bounded strict parser (``manifest.parse_json_strict``: size, depth and string
limits, linear time), never schema-validated or typed, and marked unverified.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import fields
from typing import Any

from pepperpy.core import BundleInvalidError, PepperpyError
from pepperpy.trust import archive as zf
from pepperpy.trust.archive import MANIFEST_NAME
from pepperpy.trust.authentic import check_directory, scan, signed_by
from pepperpy.trust.gate import verify_bundle
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, PluginManifest, TrustSnapshot, ZipEntry

__all__ = ["inspect_bundle", "manifest_json", "parse_bundle", "read_entry"]

_STATES = {"UntrustedPublisherError": "untrusted", "RevokedError": "revoked"}


def inspect_bundle(data: bytes, trust: TrustSnapshot, *, unverified: bool = False,
                   limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Files, key, digest and verification state of ``data``.

    Raises ``BundleInvalidError`` only when the archive structure or its signature entry
    cannot be read at all.
    """
    entries, key_id, _signature = parse_bundle(data, limits=limits)
    record = trust.get(key_id)
    report: dict[str, Any] = {
        "digest": hashlib.sha256(data).hexdigest(), "size": len(data),
        "key_id": key_id, "publisher": record.publisher if record else None,
        "manifest": None,
    }
    methods = {e.name: e.method for e in entries}
    try:
        verified = verify_bundle(data, trust, limits=limits)
    except PepperpyError as exc:
        report["state"] = _STATES.get(type(exc).__name__, "invalid")
        report["reason"] = str(exc)
        files = [_file_row(data, e, limits) for e in entries[:-1]]
        if unverified:
            report["unverified_manifest"] = _unverified_manifest(data, entries, limits)
    else:
        report["state"], report["reason"] = "verified", None
        report["manifest"] = manifest_json(verified.manifest)
        files = [{"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
                 for name, content in verified.entries.items()]
    for row in files:
        row["stored"] = methods[str(row["name"])] == zf.STORED
    report["files"] = files
    return report


def parse_bundle(data: bytes, *, limits: Limits = DEFAULT_LIMITS
                 ) -> tuple[tuple[ZipEntry, ...], str, bytes]:
    """(entries, key id, signature) of ``data``, before any trust decision: the layout
    and signature entry checks of verification, for a report."""
    if len(data) > limits.max_bundle_size:
        raise BundleInvalidError(
            f"file is {len(data)} bytes, above the {limits.max_bundle_size}-byte limit")
    entries = tuple(zf.parse_archive(data, limits=limits))
    check_directory(entries, limits)
    return (entries, *signed_by(scan(memoryview(data), entries, len(data)), entries))


def read_entry(data: bytes, entry: ZipEntry, *, check_crc: bool = True) -> bytes | memoryview:
    """One entry's content, inflated bounded (the kernel's ``archive.inflate``), its CRC-32
    checked unless ``check_crc`` is off (a report on a damaged entry)."""
    raw = zf.data_of(memoryview(data)[entry.header_offset:], entry)
    content = raw if entry.method == zf.STORED else zf.inflate(raw, entry)
    if check_crc and zlib.crc32(content) != entry.crc:
        raise BundleInvalidError(f"entry {entry.name!r}: CRC-32 mismatch (corrupted data)")
    return content


def manifest_json(manifest: PluginManifest) -> dict[str, Any]:
    """The manifest as JSON-ready data, fields left at their default omitted."""
    out: dict[str, Any] = {}
    for f in fields(manifest):
        value = getattr(manifest, f.name)
        if value is None or value == f.default:
            continue
        if f.name == "dependency_lock":
            value = [{"name": p.name, "version": p.version, "hashes": list(p.hashes)}
                     for p in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _file_row(data: bytes, entry: ZipEntry, limits: Limits) -> dict[str, Any]:
    """One file's size and hash (or the problem reading it), for a refused bundle."""
    row: dict[str, Any] = {"name": entry.name, "size": entry.size, "sha256": None}
    try:
        content = read_entry(data, entry)
    except PepperpyError as exc:
        row["problem"] = getattr(exc, "reason", str(exc))
        try:
            content = read_entry(data, entry, check_crc=False)
        except PepperpyError:
            return row
    row["sha256"] = hashlib.sha256(content).hexdigest()
    return row


def _unverified_manifest(data: bytes, entries: tuple[ZipEntry, ...],
                         limits: Limits) -> dict[str, Any]:
    """``plugin.json`` as found, through the bounded parser only, or why it cannot be."""
    from pepperpy.trust.manifest import parse_json_strict

    entry = next((e for e in entries if e.name == MANIFEST_NAME), None)
    if entry is None:
        return {"error": "plugin.json is missing"}
    try:
        return {"value": parse_json_strict(bytes(read_entry(data, entry)),
                                           limits=limits)}
    except PepperpyError as exc:
        return {"error": str(exc)}
