"""From a bundle file to a ``VerifiedBundle``: the I/O around ``bundle/verify.py``.

The one place the plugin manager, the installer, discovery and ``doctor`` turn a path
into verified bytes. Order, cheapest first:

1. ``screen``: read only the end record, central directory and signature entry
   (``bundle/reader.py``, a few KB whatever the file declares) and check that the key
   it names is trusted, strong and unrevoked. An unsigned file, or one signed by a key
   nobody trusts, is refused here: nothing else of it is read or parsed.
2. ``authenticate``: read the whole file once (size checked first); look the sha256 of
   those bytes up in the verified cache under the trust fingerprint; on a miss run the
   full verification (structure, signature, then and only then the manifest) and
   record it. Every later step (install copy, import) uses those same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pepperpy._record import record
from pepperpy.bundle.model import from_validated
from pepperpy.bundle.reader import Signer, read_bundle, read_signer
from pepperpy.bundle.trust import TrustSnapshot, TrustStore
from pepperpy.bundle.verified import VerifiedBundle
from pepperpy.plugins.verified_cache import CachedVerification, VerifiedCache
from pepperpy.settings import Settings

__all__ = ["Trust", "authenticate", "screen"]


@record
class Trust:
    """The trust snapshot, its fingerprint, and the verified cache that goes with them."""

    snapshot: TrustSnapshot
    fingerprint: str
    cache: VerifiedCache

    @classmethod
    def read(cls, settings: Settings) -> Trust:
        snapshot, fingerprint = TrustStore(settings.trust_file).read()
        return cls(snapshot, fingerprint, VerifiedCache(settings.home / "verified.json"))

    def only(self, key_id: str) -> frozenset[str] | None:
        """The plugin names the key is trusted for, or None for any (``trust add --only``)."""
        record = self.snapshot.get(key_id)
        return frozenset(record.only) if record is not None and record.only is not None \
            else None

    def scopes(self, key_id: str) -> frozenset[str]:
        """Plugin names the key may take over from their owners (``trust add --scope``)."""
        record = self.snapshot.get(key_id)
        return frozenset(record.scopes or ()) if record is not None else frozenset()


def screen(path: Path, trust: Trust) -> Signer:
    """Step 1: the signer named in the file must be trusted, before the rest is read."""
    from pepperpy.bundle.verify import check_key

    signer = read_signer(path)
    check_key(trust.snapshot, signer.key_id, None)
    return signer


def authenticate(path: Path, trust: Trust) -> VerifiedBundle:
    """Step 2: the file's bytes, verified (or found verified under this trust)."""
    data = read_bundle(path)
    return authenticate_bytes(data, trust, path=str(path))


def authenticate_bytes(data: bytes, trust: Trust, *, path: str) -> VerifiedBundle:
    """Verify ``data`` (already read), using and filling the verified cache."""
    import json

    digest = hashlib.sha256(data).hexdigest()
    hit = trust.cache.get(digest, trust.fingerprint)
    if hit is not None:
        try:
            manifest = from_validated(json.loads(hit.manifest))
        except (ValueError, TypeError, KeyError):
            manifest = None  # a damaged entry: verify again
        if manifest is not None:
            return VerifiedBundle(manifest, hit.manifest, digest, hit.key_id,
                                  hit.publisher, data)
    from pepperpy.bundle.verify import verify_bundle

    verified = verify_bundle(data, trust.snapshot, path=path)
    trust.cache.put(digest, trust.fingerprint, CachedVerification(
        verified.key_id, verified.publisher, verified.manifest_bytes))
    return verified
