"""The signed statement and the signature entry of a ``pepperpy-bundle/1`` archive.

Invariants:

* the statement is never stored: signer and verifier both rebuild it from the entries
  as ``b"pepperpy-bundle/1\\n"`` then, per plugin file in archive order,
  ``b"<sha256 hex> <size> <name>\\n"`` (names cannot hold spaces or newlines), then
  ``b"entries-sha256 <hex>\\n"``: the SHA-256 of every archive byte before the
  signature entry. The file is then a function of signed bytes and the signature:
  any change to any byte either fails verification or gives the identical file;
* the signature entry ``.pepperpy-signature`` is the last entry and holds exactly
  ``{"format":"pepperpy-bundle/1","key_id":"<64 hex>","signature":"<base64>"}``
  (sorted keys, no spaces); anything else is refused;
* ed25519 is deterministic, so the same files and key give the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence

from pepperpy.bundle.keys import SigningKey
from pepperpy.bundle.names import MANIFEST_NAME, SIGNATURE_NAME
from pepperpy.bundle.zipformat import assemble, encode_entry, local_section
from pepperpy.core import BundleInvalidError

__all__ = [
    "FORMAT",
    "encode_signature_entry",
    "parse_signature_entry",
    "sign_files",
    "statement",
]

FORMAT = "pepperpy-bundle/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_B64_SIG = re.compile(r"[A-Za-z0-9+/]{86}==")


def statement(files: Sequence[tuple[str, str, int]], entries_sha256: str) -> bytes:
    """The bytes the publisher signs.

    ``files`` is ``(name, sha256 hex of content, size)`` per plugin file in archive
    order; ``entries_sha256`` is the SHA-256 of the archive bytes before the signature
    entry's local header, which pins the exact compressed bytes and headers too (so no
    re-compression or padding-bit change keeps a signature valid).
    """
    lines = [FORMAT.encode() + b"\n"]
    lines += [f"{digest} {size} {name}\n".encode("ascii") for name, digest, size in files]
    lines.append(f"entries-sha256 {entries_sha256}\n".encode("ascii"))
    return b"".join(lines)


def encode_signature_entry(*, key_id: str, signature: bytes) -> bytes:
    """Canonical JSON content of ``.pepperpy-signature``."""
    body = {"format": FORMAT, "key_id": key_id,
            "signature": base64.b64encode(signature).decode("ascii")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def parse_signature_entry(raw: bytes | memoryview) -> tuple[str, bytes]:
    """Return (key id, 64-byte signature); refuse any non-canonical content."""
    raw = bytes(raw)
    try:
        body = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise BundleInvalidError("the signature entry is not ASCII JSON") from None
    if not isinstance(body, dict) or set(body) != {"format", "key_id", "signature"}:
        raise BundleInvalidError(
            "the signature entry must hold exactly the keys format, key_id and signature"
        )
    if body["format"] != FORMAT:
        raise BundleInvalidError(
            f"bundle format {str(body['format'])[:40]!r} is not supported; expected {FORMAT!r} "
            "(upgrade PepperPy or rebuild the bundle)"
        )
    key_id, sig = body["key_id"], body["signature"]
    if not isinstance(key_id, str) or not _HEX64.fullmatch(key_id):
        raise BundleInvalidError("the signature entry's key_id is not 64 lowercase hex digits")
    if not isinstance(sig, str) or not _B64_SIG.fullmatch(sig):
        raise BundleInvalidError("the signature entry's signature is not base64 of 64 bytes")
    try:
        signature = base64.b64decode(sig, validate=True)
    except binascii.Error:
        raise BundleInvalidError("the signature entry's signature is not valid base64") from None
    if encode_signature_entry(key_id=key_id, signature=signature) != raw:
        raise BundleInvalidError("the signature entry is not in canonical form")
    return key_id, signature


def sign_files(files: Sequence[tuple[str, bytes]], key: SigningKey) -> bytes:
    """Sort, sign and write ``files`` as a complete bundle archive."""
    ordered = sorted(files)
    names = [name for name, _ in ordered]
    if len(set(names)) != len(names):
        raise BundleInvalidError("two files have the same name")
    if MANIFEST_NAME not in names:
        raise BundleInvalidError("a bundle needs plugin.json at its root")
    if SIGNATURE_NAME in names:
        raise BundleInvalidError(f"{SIGNATURE_NAME} is reserved for the signature")
    encoded = [encode_entry(name, data) for name, data in ordered]
    prefix = local_section(encoded)
    listed = [(name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in ordered]
    signature = key.sign(statement(listed, hashlib.sha256(prefix).hexdigest()))
    sig_entry = encode_signature_entry(key_id=key.key_id, signature=signature)
    return assemble([*encoded, encode_entry(SIGNATURE_NAME, sig_entry, stored=True)])
