"""PepperPy's ed25519 key files (``pepperpy keygen``) as TUF signers and TUF keys.

Keys load through :mod:`pepperpy.bundle.keys`, so repository keys get the same checks
as publisher keys (weak keys refused, passphrases asked the same way). The signer wraps
:class:`~pepperpy.bundle.keys.SigningKey` instead of handing the raw private key to
``CryptoSigner``: the private part never leaves the object that hides it.

A TUF key id is securesystemslib's default (SHA-256 of the key's canonical JSON), so a
stock TUF client computes the same ids; it differs from PepperPy's bundle key id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from securesystemslib.signer import Signature, Signer, SSlibKey

if TYPE_CHECKING:
    from pepperpy.bundle.keys import SigningKey

__all__ = ["KeySigner", "load_signer", "tuf_key", "tuf_key_id"]


def tuf_key(raw_public: bytes) -> SSlibKey:
    """The TUF ``SSlibKey`` of a raw 32-byte ed25519 public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(raw_public))


class KeySigner(Signer):
    """A securesystemslib ``Signer`` over a PepperPy ``SigningKey``."""

    def __init__(self, key: SigningKey, *, path: Path | None = None) -> None:
        self._key = key
        self._public = tuf_key(key.public_key.raw)
        self.path = path

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    @property
    def keyid(self) -> str:
        return str(self._public.keyid)

    def sign(self, payload: bytes) -> Signature:
        return Signature(self._public.keyid, self._key.sign(payload).hex())

    @classmethod
    def from_priv_key_uri(cls, priv_key_uri: str, public_key: Any,
                          secrets_handler: Any = None) -> Signer:
        from pepperpy.core import ConfigurationError

        raise ConfigurationError(
            "PepperPy repository keys are PEM files from `pepperpy keygen`, not key URIs; "
            "load them with pepperpy.distribution.signer.load_signer(path)")

    def __repr__(self) -> str:
        return f"<KeySigner tuf keyid={self.keyid[:16]} (private part hidden)>"


def load_signer(path: Path) -> KeySigner:
    """Load a ``NAME.key`` written by ``pepperpy keygen`` (asks for a passphrase if set)."""
    from pepperpy.bundle.keys import load_signing_key

    return KeySigner(load_signing_key(Path(path)), path=Path(path))


def tuf_key_id(path: Path) -> str:
    """The TUF key id of a key file: a ``NAME.pub`` (read as is) or a ``NAME.key``
    (loaded as a signer; a passphrase is asked for if it has one)."""
    from pepperpy.bundle.keys import load_public_key

    data = Path(path).read_bytes()
    if b"PUBLIC KEY" in data:
        return str(tuf_key(load_public_key(data).raw).keyid)
    return load_signer(Path(path)).keyid
