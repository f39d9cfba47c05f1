"""Is this bundle authentic? Bytes and a trust snapshot in, a decision out. No I/O.

The checks, in order; each refusal raises at once:

1. limits: file size (before anything is parsed);
2. structure: the canonical ZIP layout, names, file types, shadowing (``archive.py``;
   ``check_directory`` on the central directory, ``archive.check_archive`` on the pass);
3. the signature entry: present exactly once, last, stored, canonical JSON;
4. the key is in the snapshot, strong (not a small-order or non-canonical point), not
   revoked (``UntrustedPublisherError``, ``RevokedError``);
5. one pass over the raw bytes (:func:`scan`, chunks in file order: the gate's reads, or
   slices of bytes in memory) gives the file's SHA-256 (not revoked), the SHA-256 of
   every byte before the signature entry and each stored entry's CRC-32 (of a file of
   16 MiB or more, computed on a second thread beside the hashing: ``pepperpy._crcs``,
   all of them in before ``scan`` returns); the ed25519
   signature over the statement built from the prefix digest must verify
   (:func:`verify_pass`).

Nothing is inflated here: the signed statement covers the raw, compressed bytes and
every header (``docs/bundle-format.md``), so a file that merely names a trusted key
costs one hash pass. Inflating (bounded, CRC-checked) comes after, in ``gate.py``.
Nothing here reads files, the clock or the environment, and this module imports nothing
that does (``tests/trust/test_kernel_shape.py``).
"""

from __future__ import annotations

import binascii  # base64 without the base64 module (same calls b64encode/b64decode make)
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from pepperpy import _jsonio as json  # the same text as json, without importing it
from pepperpy import _sha as hashlib  # SHA-256 without loading OpenSSL for small bundles
from pepperpy._crcs import Crcs  # CRC-32 beside the hashing, on two cores
from pepperpy.core import BundleInvalidError, RevokedError, UntrustedPublisherError
from pepperpy.trust import archive as zf
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, TrustedKey, TrustSnapshot, ZipEntry

__all__ = ["FORMAT", "Pass", "check_directory", "check_key", "encode_signature_entry", "key_id_of",
           "parse_signature_entry", "scan", "signed_by", "statement", "verify_pass",
           "weak_key_problem"]

FORMAT = "pepperpy-bundle/2"
CHUNK = 1 << 20  # bytes hashed while a second thread CRC-checks them (``pepperpy._crcs``)
_HEX = "0123456789abcdef"  # sets for str.strip: no regex compiled at import
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# -- ed25519 public keys -----------------------------------------------------------------

_P = 2**255 - 19
# (-121665 * pow(121666, _P - 2, _P)) % _P and pow(2, (_P - 1) // 4, _P), written out:
# two exponentiations at import cost about 0.2 ms (tests/trust/test_curve_constants.py checks them)
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752


def key_id_of(raw: bytes) -> str:
    """The key id: lowercase hex SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw).hexdigest()


def _decode_point(raw: bytes) -> tuple[int, int] | str:
    """RFC 8032 point decoding; return (x, y) or the reason the encoding is bad."""
    if len(raw) != 32:
        return f"an ed25519 public key is 32 bytes, found {len(raw)}"
    value = int.from_bytes(raw, "little")
    sign, y = value >> 255, value & ((1 << 255) - 1)
    if y >= _P:
        return "non-canonical encoding (y >= p)"
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P:
            return "not a point on edwards25519"
    if x == 0 and sign:
        return "non-canonical encoding (negative zero x)"
    if (x & 1) != sign:
        x = _P - x
    return x, y


def _double(x: int, y: int, z: int) -> tuple[int, int, int]:
    """Projective doubling on -x^2 + y^2 = 1 + d x^2 y^2 (dbl-2008-bbjlp), no inversion."""
    b, c, d = (x + y) ** 2 % _P, x * x % _P, y * y % _P
    e = -c % _P
    f = (e + d) % _P
    j = (f - 2 * (z * z)) % _P
    return (b - c - d) * j % _P, f * (e - d) % _P, f * j % _P


@lru_cache(maxsize=4096)
def weak_key_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not an acceptable public key, or None if it is.

    OpenSSL accepts small-order keys; with the neutral element as the key, the signature
    (R = neutral, S = 0) verifies for every message. Multiplying by the cofactor 8 sends
    exactly the eight small-order points to the neutral element (0, 1).
    """
    point = _decode_point(raw)
    if isinstance(point, str):
        return point
    x, y, z = point[0], point[1], 1
    for _ in range(3):
        x, y, z = _double(x, y, z)
    if x == 0 and y == z:
        return "small-order point (a key that verifies forged signatures)"
    return None


def _signature_valid(raw_key: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


# -- the signed statement and the signature entry -------------------------------------


def statement(entries_sha256: str) -> bytes:
    """The bytes the publisher signs: the format, then the SHA-256 of every archive byte
    before the signature entry (every local header, name and compressed byte)."""
    return f"{FORMAT}\nentries-sha256 {entries_sha256}\n".encode("ascii")


def encode_signature_entry(*, key_id: str, signature: bytes) -> bytes:
    """Canonical JSON content of ``.pepperpy-signature``."""
    body = {"format": FORMAT, "key_id": key_id,
            "signature": binascii.b2a_base64(signature, newline=False).decode("ascii")}
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
            "the signature entry must hold exactly the keys format, key_id and signature")
    if body["format"] != FORMAT:
        raise BundleInvalidError(
            f"bundle format {str(body['format'])[:40]!r} is not supported; expected {FORMAT!r} "
            "(upgrade PepperPy or rebuild the bundle)")
    key_id, sig = body["key_id"], body["signature"]
    if not isinstance(key_id, str) or len(key_id) != 64 or key_id.strip(_HEX):
        raise BundleInvalidError("the signature entry's key_id is not 64 lowercase hex digits")
    if not isinstance(sig, str) or len(sig) != 88 or sig[86:] != "==" or sig[:86].strip(_B64):
        raise BundleInvalidError("the signature entry's signature is not base64 of 64 bytes")
    signature = binascii.a2b_base64(sig, strict_mode=True)  # 86 digits and "==": 64 bytes
    if encode_signature_entry(key_id=key_id, signature=signature) != raw:
        raise BundleInvalidError("the signature entry is not in canonical form")
    return key_id, signature


# -- the decision ----------------------------------------------------------------------


def check_directory(entries: Sequence[ZipEntry], limits: Limits = DEFAULT_LIMITS) -> ZipEntry:
    """Steps 2-3, the rules that need the whole directory; return the signature entry."""
    *files, sig_entry = entries
    if sig_entry.name != zf.SIGNATURE_NAME:
        raise BundleInvalidError(f"the last entry must be {zf.SIGNATURE_NAME} (is the bundle "
                                 "signed? build it with `pepperpy plugin build --key ...`)")
    names = {e.name for e in files}
    problem = zf.check_layout(e.name for e in files)
    if zf.SIGNATURE_NAME in names:
        problem = f"{zf.SIGNATURE_NAME} appears more than once"
    elif problem is None and zf.MANIFEST_NAME not in names:
        problem = "plugin.json is missing from the bundle root"
    if problem:
        raise BundleInvalidError(problem)
    if sig_entry.method != zf.STORED or sig_entry.size > limits.max_signature_entry_size:
        raise BundleInvalidError("the signature entry must be stored, not compressed, and "
                                 "no larger than a signature")
    return sig_entry


# What one pass over a file gave: the SHA-256 of its signed prefix and of the whole file,
# each entry's CRC-32 (stored entries), each entry's piece, the file size.
Pass = tuple[str, str, list[int], list[Any], int]


def scan(source: memoryview | Iterable[tuple[int, memoryview]], entries: Sequence[ZipEntry],
         size: int) -> Pass:
    """One pass over the file's bytes as they arrive (``source``: (offset, bytes) chunks in
    order, covering the file, copied from as they come; or the whole file in memory, taken
    in 1 MiB slices and sliced): both digests, the CRC-32 of every stored entry's bytes
    (of a large file, on a second thread while this one hashes the same chunk; settled
    before the next chunk is asked for and before returning), and the pieces the later
    checks read: each entry from its local header through its data when it is deflated or
    ``plugin.json`` (else its header only), and everything from the signature entry on."""
    whole = source if isinstance(source, memoryview) else None
    cut, last = entries[-1].header_offset, len(entries) - 1
    keep = [size if i == last else e.data_offset + (
        e.compressed_size if e.method == zf.DEFLATED or e.name == zf.MANIFEST_NAME else 0)
        for i, e in enumerate(entries)]
    hasher, prefix, first = hashlib.sha256(), "", 0
    crcs, pieces = Crcs(len(entries), size), list[Any](bytearray() for _ in entries)
    for at, chunk in ((at, source[at:at + CHUNK]) for at in range(0, size, CHUNK)) if (
            isinstance(source, memoryview)) else source:
        end, i = at + len(chunk), first
        while i <= last and entries[i].header_offset < end:
            e = entries[i]
            lo, hi = max(e.header_offset, at), min(keep[i], end)
            if lo < hi and whole is None:
                pieces[i] += chunk[lo - at:hi - at]
            lo, hi = max(e.data_offset, at), min(e.data_offset + e.compressed_size, end)
            if e.method == zf.STORED and lo < hi:
                crcs.add(i, chunk[lo - at:hi - at])  # large: on a second thread, while...
            first += i == first and max(keep[i], e.data_offset + e.compressed_size) <= end
            i += 1
        # ...this thread hashes the same chunk (the signed prefix ends at ``mid``)
        mid = cut - at if at <= cut < end else 0
        hasher.update(chunk[:mid])
        prefix = hasher.copy().hexdigest() if at <= cut < end else prefix
        hasher.update(chunk[mid:])
        crcs.settled()  # this chunk's CRCs done: its buffer may be reused
    if whole is not None:
        pieces = [whole[e.header_offset:end] for e, end in zip(entries, keep, strict=True)]
    return prefix, hasher.hexdigest(), crcs.settled(), pieces, size


def signed_by(scanned: Pass, entries: Sequence[ZipEntry]) -> tuple[str, bytes]:
    """Steps 2-3 on a pass: the layout after the signed prefix and every local header
    (``archive.check_archive``), then the signature entry (CRC-checked, canonical)."""
    zf.check_archive(scanned[3], entries, scanned[4])  # its CRC: with every entry's, later
    return parse_signature_entry(zf.data_of(scanned[3][-1], entries[-1]))


def check_key(snapshot: TrustSnapshot, key_id: str, digest: str | None) -> TrustedKey:
    """Step 4: the signing key must be trusted, strong and unrevoked; the digest unrevoked."""
    if (record := snapshot.get(key_id)) is None:
        raise UntrustedPublisherError(
            f"bundle is signed by key {key_id}, which is not in the trust store; if you "
            "trust its publisher, run `pepperpy trust add PUBLISHER.pub`", key_id=key_id)
    if weak_key_problem(record.public_key) is not None:
        raise UntrustedPublisherError(
            f"key {key_id[:16]} ({record.publisher}) is a weak ed25519 key and is never "
            "trusted; remove it with `pepperpy trust remove`", key_id=key_id)
    if record.revoked:
        raise RevokedError(
            f"key {key_id[:16]} ({record.publisher}) was revoked at {record.revoked_at}; "
            "ask the publisher for a bundle signed with a new key")
    if digest is not None and digest in snapshot.revoked_bundles:
        raise RevokedError(
            f"bundle sha256 {digest} was revoked by the operator; install another version")
    return record


def verify_pass(scanned: Pass, entries: Sequence[ZipEntry], trust: TrustSnapshot, *,
                path: str | None = None) -> TrustedKey:
    """Steps 2-5 on one pass over a file whose directory passed ``check_directory``: the
    signing key's record, once the signature over the signed prefix holds."""
    key_id, signature = signed_by(scanned, entries)
    record = check_key(trust, key_id, scanned[1])
    if not _signature_valid(record.public_key, signature, statement(scanned[0])):
        raise BundleInvalidError(
            f"the signature by key {record.key_id[:16]} ({record.publisher}) does not match "
            "the files: the bundle was modified after signing", path=path)
    return record
