"""ed25519 publisher keys: generate, store and load them (the private side).

Key ids and the weak-key check are part of the trust kernel
(:mod:`pepperpy.trust.authentic`); this module uses them for every key it accepts.

Invariants:

* a private key file is created with ``os.open(O_CREAT | O_EXCL, 0o600)``: it is never
  world-readable, not even for an instant, and never overwrites an existing file;
* a private key never appears in output, logs, errors or ``repr`` (:class:`SigningKey`
  hides it);
* a key id is the lowercase hex SHA-256 of the raw 32-byte public key;
* every public key that enters PepperPy (keygen output, ``trust add``, verify) passes
  :func:`check_public_key`: canonical encoding (y < p, no "negative zero") and not of
  small order. OpenSSL accepts small-order keys; with the neutral element as the key,
  the signature (R = neutral, S = 0) verifies for every message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy.core import ConfigurationError, ValidationError
from pepperpy.trust.authentic import key_id_of, weak_key_problem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "PASSPHRASE_ENV",
    "GeneratedKey",
    "PublicKey",
    "SigningKey",
    "check_public_key",
    "generate_key",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
    "weak_key_problem",
]

PASSPHRASE_ENV = "PEPPERPY_KEY_PASSPHRASE"


def check_public_key(raw: bytes) -> None:
    """Raise ValidationError unless ``raw`` is a canonical, full-order ed25519 key."""
    problem = weak_key_problem(raw)
    if problem:
        raise ValidationError(
            f"refused ed25519 public key {key_id_of(raw)[:16]}: {problem}; "
            "use a key made by `pepperpy keygen`"
        )


@dataclass(frozen=True)
class PublicKey:
    """A checked ed25519 public key."""

    raw: bytes
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        check_public_key(self.raw)
        object.__setattr__(self, "key_id", key_id_of(self.raw))

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is a valid ed25519 signature of ``message``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> bytes:
        """PEM SubjectPublicKeyInfo, the ``NAME.pub`` format."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class SigningKey:
    """An ed25519 private key that never shows itself (repr, str, pickling)."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = PublicKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def private_pem(self, *, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted when a passphrase is given."""
        from cryptography.hazmat.primitives import serialization

        algorithm = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm
        )

    def __repr__(self) -> str:
        return f"<SigningKey key_id={self.key_id[:16]} (private part hidden)>"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        raise TypeError("a SigningKey cannot be pickled: private keys never leave the process")


@dataclass(frozen=True)
class GeneratedKey:
    key_id: str
    private_path: Path
    public_path: Path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ConfigurationError(
            f"{path} already exists; keygen never overwrites a key "
            "(choose another --publisher or --out folder)"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def generate_key(
    *, publisher: str, out_dir: Path, passphrase: bytes | None = None
) -> GeneratedKey:
    """Create ``publisher.key`` (0600, PKCS#8) and ``publisher.pub`` in ``out_dir``."""
    if not publisher or not all(c.isalnum() or c in "-_." for c in publisher) or (
        publisher.startswith(".")
    ):
        raise ValidationError(
            f"publisher name {publisher!r} must be letters, digits, '-', '_' or '.'"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()  # PublicKey() already refuses a weak result
    private_path, public_path = out_dir / f"{publisher}.key", out_dir / f"{publisher}.pub"
    if public_path.exists():
        raise ConfigurationError(f"{public_path} already exists; keygen never overwrites a key")
    _write_new(private_path, key.private_pem(passphrase=passphrase), 0o600)
    _write_new(public_path, key.public_key.pem(), 0o644)
    return GeneratedKey(key.key_id, private_path, public_path)


def load_public_key(pem: bytes) -> PublicKey:
    """Parse a ``NAME.pub`` PEM; refuse anything but a strong ed25519 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise ValidationError(
            "not a PEM public key (expected the NAME.pub file written by `pepperpy keygen`)"
        ) from None
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and friends
        raise ValidationError(f"cannot read public key: {type(exc).__name__}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValidationError(f"expected an ed25519 public key, found {type(key).__name__}")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _passphrase(path: Path, env: Mapping[str, str] | None) -> bytes:
    value = (os.environ if env is None else env).get(PASSPHRASE_ENV)
    if value:
        return value.encode()
    if sys.stdin.isatty():
        import getpass  # only when a passphrase is asked for

        return getpass.getpass(f"Passphrase for {path.name}: ").encode()
    raise ConfigurationError(
        f"{path} is passphrase-protected; set {PASSPHRASE_ENV} or run from a terminal"
    )


def load_signing_key(
    path: Path, *, passphrase: bytes | None = None, env: dict[str, str] | None = None
) -> SigningKey:
    """Load a ``NAME.key``; asks for the passphrase only when the key is encrypted."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"cannot read key file {path}: there is no such file; a publisher's signing key "
            "is made once with `pepperpy keygen --publisher NAME --out DIR` (it writes "
            "DIR/NAME.key, and NAME.pub to hand out)") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from None
    encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
    if encrypted and passphrase is None:
        passphrase = _passphrase(path, env)
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase if encrypted else None)
    except (ValueError, TypeError):
        hint = "wrong passphrase?" if encrypted else "expected a PEM PKCS#8 ed25519 key"
        raise ConfigurationError(f"cannot load private key {path}: {hint}") from None
    except Exception as exc:
        raise ConfigurationError(f"cannot load private key {path}: {type(exc).__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an ed25519 private key")
    return SigningKey(key)
