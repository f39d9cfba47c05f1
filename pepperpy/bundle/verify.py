"""Verify a bundle: bytes and a trust snapshot in, a ``VerifiedBundle`` out. No I/O.

The checks run in this order (python-tuf style); each refusal raises at once:

1. limits: file size (before anything is parsed);
2. structure: the canonical ZIP layout, names, file types, shadowing
   (:mod:`pepperpy.bundle.zipformat`, :mod:`pepperpy.bundle.names`);
3. signature entry: present exactly once, last, canonical JSON;
4. the key is in the snapshot, not weak, not revoked (``UntrustedPublisherError``,
   ``RevokedError``); the whole-file digest is not revoked (``RevokedError``);
5. every entry is inflated (bounded), CRC-checked and hashed once, and the statement
   rebuilt from those hashes; the ed25519 signature over it must verify;
6. only then is ``plugin.json`` parsed (strict JSON, schema, dependency rules), and its
   ``entry_point`` module must be a file in the bundle.

Nothing here reads files, the clock or the environment: callers read the bytes
(``bundle/reader.py``) and the trust snapshot (``bundle/trust.py``) and hand them in, so
the decision "is this bundle authentic" depends on those two inputs alone
(``tests/bundle/test_trust_core.py`` checks that this module imports no I/O module).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pepperpy.bundle import zipformat as zf
from pepperpy.bundle.hashing import CHUNK, ParallelHasher, digests
from pepperpy.bundle.limits import DEFAULT_LIMITS, Limits
from pepperpy.bundle.manifest import parse_manifest
from pepperpy.bundle.names import MANIFEST_NAME, SIGNATURE_NAME, check_layout
from pepperpy.bundle.signing import parse_signature_entry, statement
from pepperpy.bundle.trust import TrustedKey, TrustSnapshot
from pepperpy.bundle.verified import Contents, FileInfo, VerifiedBundle
from pepperpy.core import BundleInvalidError, RevokedError, UntrustedPublisherError

if TYPE_CHECKING:
    from pepperpy.bundle.model import PluginManifest

__all__ = [
    "FileInfo",
    "ParsedBundle",
    "VerifiedBundle",
    "check_key",
    "parse_bundle",
    "verify_bundle",
]

_PARALLEL_FROM = 4 * 1024 * 1024


@dataclass(frozen=True)
class ParsedBundle:
    """Structure and signature entry of a bundle, before any trust decision."""

    entries: tuple[zf.ZipEntry, ...]
    key_id: str
    signature: bytes


def parse_bundle(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ParsedBundle:
    """Steps 1-3: limits, canonical structure, file rules and the signature entry."""
    entries = zf.parse_archive(data, limits=limits)
    if entries[-1].name != SIGNATURE_NAME:
        raise BundleInvalidError(
            f"the last entry must be {SIGNATURE_NAME} (is the bundle signed? "
            "build it with `pepperpy plugin build --key ...`)"
        )
    files = entries[:-1]
    if SIGNATURE_NAME in (e.name for e in files):
        raise BundleInvalidError(f"{SIGNATURE_NAME} appears more than once")
    problem = check_layout(e.name for e in files)
    if problem:
        raise BundleInvalidError(problem)
    if MANIFEST_NAME not in {e.name for e in files}:
        raise BundleInvalidError("plugin.json is missing from the bundle root")
    sig_entry = entries[-1]
    if sig_entry.method != zf.STORED:
        raise BundleInvalidError("the signature entry must be stored, not compressed")
    if sig_entry.size > limits.max_signature_entry_size:
        raise BundleInvalidError("the signature entry is larger than a signature can be")
    key_id, signature = parse_signature_entry(zf.read_entry(data, sig_entry, limits=limits))
    return ParsedBundle(tuple(entries), key_id, signature)


def check_key(snapshot: TrustSnapshot, key_id: str, digest: str | None) -> TrustedKey:
    """Step 4: the signing key must be trusted, strong and unrevoked; the digest unrevoked."""
    record = snapshot.get(key_id)
    if record is None:
        raise UntrustedPublisherError(
            f"bundle is signed by key {key_id}, which is not in the trust store; if you "
            "trust its publisher, run `pepperpy trust add PUBLISHER.pub`", key_id=key_id,
        )
    if record.weak:
        raise UntrustedPublisherError(
            f"key {key_id[:16]} ({record.publisher}) is a weak ed25519 key and is never "
            "trusted; remove it with `pepperpy trust remove`", key_id=key_id,
        )
    if record.revoked:
        raise RevokedError(
            f"key {key_id[:16]} ({record.publisher}) was revoked at {record.revoked_at}; "
            "ask the publisher for a bundle signed with a new key"
        )
    if digest is not None and digest in snapshot.revoked_bundles:
        raise RevokedError(
            f"bundle sha256 {digest} was revoked by the operator; install another version"
        )
    return record


def _hash_entries(
    data: bytes, entries: tuple[zf.ZipEntry, ...], limits: Limits,
    hasher: ParallelHasher | None = None,
) -> tuple[list[FileInfo], Contents, list[zf.ZipEntry]]:
    """Inflate (bounded), CRC-check and hash every plugin file exactly once.

    With a ``hasher``, the CRC-32 of each content of ``CHUNK`` bytes or more is handed
    to it instead of computed here; those entries are returned, in order, and the
    caller must compare them with the hasher's results.
    """
    infos: list[FileInfo] = []
    stored: dict[str, zf.ZipEntry] = {}
    inflated: dict[str, bytes] = {}
    deferred: list[zf.ZipEntry] = []
    for entry in entries:
        defer = hasher is not None and entry.size >= CHUNK
        content = zf.read_entry(data, entry, limits=limits, check_crc=not defer)
        if defer:
            hasher.add_crc(content)  # type: ignore[union-attr]
            deferred.append(entry)
        infos.append(FileInfo(entry.name, entry.size, hashlib.sha256(content).hexdigest()))
        if entry.method == zf.STORED:
            stored[entry.name] = entry
        else:
            inflated[entry.name] = bytes(content)
    return infos, Contents(data, stored, inflated, [e.name for e in entries]), deferred


def verify_bundle(
    data: bytes, trust: TrustSnapshot, *, limits: Limits = DEFAULT_LIMITS,
    path: str | None = None,
) -> VerifiedBundle:
    """Run every check on ``data``; return what verified or raise a ``TrustError``."""
    if len(data) > limits.max_bundle_size:
        raise BundleInvalidError(
            f"file is {len(data)} bytes, above the {limits.max_bundle_size}-byte limit", path=path
        )
    parsed = parse_bundle(data, limits=limits)
    prefix_end = parsed.entries[-1].header_offset
    record = check_key(trust, parsed.key_id, None)
    if len(data) < _PARALLEL_FROM:
        prefix_digest, digest = digests(data, prefix_end)
        check_key(trust, parsed.key_id, digest)
        infos, contents, _ = _hash_entries(data, parsed.entries[:-1], limits)
    else:
        # Large bundles: a helper thread hashes the whole file while this one hashes
        # the entries, then both share the CRC-32 chunks (``hashing.py``). Every
        # result is checked here, in the documented order, before anything is used.
        hasher = ParallelHasher(data, prefix_end)
        try:
            infos, contents, deferred = _hash_entries(data, parsed.entries[:-1], limits, hasher)
            (prefix_digest, digest), crcs = hasher.finish()
        finally:
            hasher.close()
        check_key(trust, parsed.key_id, digest)
        for entry, crc in zip(deferred, crcs, strict=True):
            if crc != entry.crc:
                raise BundleInvalidError(
                    f"entry {entry.name!r}: CRC-32 mismatch (corrupted data)")
    message = statement([(i.name, i.sha256, i.size) for i in infos], prefix_digest)
    from pepperpy.bundle.keys import PublicKey

    if not PublicKey(record.public_key).verify(parsed.signature, message):
        raise BundleInvalidError(
            f"the signature by key {record.key_id[:16]} ({record.publisher}) does not match "
            "the files: the bundle was modified after signing", path=path,
        )
    manifest = parse_manifest(contents[MANIFEST_NAME], limits=limits)
    _check_entry_point(manifest, contents)
    verified = VerifiedBundle(manifest, bytes(contents[MANIFEST_NAME]), digest, record.key_id,
                              record.publisher, data, tuple(infos))
    verified.__dict__["entries"] = contents  # already read: spare ``entries`` a second pass
    return verified


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
