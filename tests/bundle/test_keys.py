"""Keys: file modes, passphrases, key ids, and refusal of every weak ed25519 key."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from pepperpy.bundle.keys import (
    PublicKey,
    SigningKey,
    generate_key,
    key_id_of,
    load_public_key,
    load_signing_key,
)
from pepperpy.bundle.trust import TrustStore
from pepperpy.core import ConfigurationError, UntrustedPublisherError, ValidationError
from pepperpy.trust.authentic import encode_signature_entry
from pepperpy.trust.gate import verify_bundle
from pepperpy_testing.bundles import BundleFactory, replace_entry

P = 2**255 - 19
_Y8A = int.from_bytes(bytes.fromhex(
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
_Y8B = int.from_bytes(bytes.fromhex(
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "little")


def _enc(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


SMALL_ORDER = {
    "identity": _enc(1), "order2": _enc(P - 1), "order4+": _enc(0), "order4-": _enc(0, 1),
    "order8a+": _enc(_Y8A), "order8a-": _enc(_Y8A, 1),
    "order8b+": _enc(_Y8B), "order8b-": _enc(_Y8B, 1),
}
NON_CANONICAL = {
    "identity-negzero": _enc(1, 1), "order2-negzero": _enc(P - 1, 1),
    "y=p": _enc(P), "y=p+1": _enc(P + 1), "y=2^255-1": _enc(2**255 - 1),
}


def _pem(raw: bytes) -> bytes:
    """SubjectPublicKeyInfo PEM for arbitrary 32 bytes (cryptography accepts them)."""
    der = bytes.fromhex("302a300506032b6570032100") + raw
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    return f"-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n".encode()


def test_keygen_writes_0600_key_and_pub(tmp_path: Path) -> None:
    made = generate_key(publisher="acme", out_dir=tmp_path)
    assert stat.S_IMODE(made.private_path.stat().st_mode) == 0o600
    assert len(made.key_id) == 64
    assert made.key_id == load_public_key(made.public_path.read_bytes()).key_id
    key = load_signing_key(made.private_path)
    assert key.key_id == made.key_id
    assert "PRIVATE" not in repr(key) and "BEGIN" not in str(key)


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    generate_key(publisher="acme", out_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="already exists"):
        generate_key(publisher="acme", out_dir=tmp_path)


def test_passphrase_key(tmp_path: Path) -> None:
    made = generate_key(publisher="acme", out_dir=tmp_path, passphrase=b"s3cret")
    assert b"ENCRYPTED" in made.private_path.read_bytes()
    env = {"PEPPERPY_KEY_PASSPHRASE": "s3cret"}
    assert load_signing_key(made.private_path, env=env).key_id == made.key_id
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        load_signing_key(made.private_path, env={"PEPPERPY_KEY_PASSPHRASE": "nope"})


def test_key_id_is_sha256_of_raw_key() -> None:
    key = SigningKey.generate()
    import hashlib

    assert key.key_id == hashlib.sha256(key.public_key.raw).hexdigest()


@pytest.mark.parametrize("raw", list(SMALL_ORDER.values()), ids=list(SMALL_ORDER))
def test_trust_add_refuses_small_order_points(raw: bytes, tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trust.json")
    with pytest.raises(ValidationError, match="small-order"):
        store.add(_pem(raw), publisher="evil")
    assert store.list() == []


@pytest.mark.parametrize("raw", list(NON_CANONICAL.values()), ids=list(NON_CANONICAL))
def test_non_canonical_keys_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError, match="non-canonical"):
        PublicKey(raw)


def test_eight_distinct_small_order_points() -> None:
    assert len(set(SMALL_ORDER.values())) == 8


def test_neutral_key_forgery_refused_even_if_forced_into_store(tmp_path: Path) -> None:
    """R = identity, S = 0 'verifies' under the identity key in OpenSSL; we refuse it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = SMALL_ORDER["identity"]
    forged_sig = identity + bytes(32)
    Ed25519PublicKey.from_public_bytes(identity).verify(forged_sig, b"any message at all")

    key_id = key_id_of(identity)
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps({
        "version": 1, "revoked_bundles": [],
        "keys": {key_id: {"publisher": "evil", "public_key": base64.b64encode(identity).decode(),
                          "added_at": "2025-01-01T00:00:00Z", "revoked_at": None,
                          "scopes": None}},
    }))
    factory = BundleFactory()
    good = factory.build()
    forged = replace_entry(good, ".pepperpy-signature",
                           encode_signature_entry(key_id=key_id, signature=forged_sig))
    snapshot = TrustStore(trust_file).snapshot()
    assert snapshot.get(key_id).weak
    with pytest.raises(UntrustedPublisherError, match="weak"):
        verify_bundle(forged, snapshot)


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_signing_key(tmp_path / "me.key")
    assert str(refused.value) == (
        f"cannot read key file {tmp_path / 'me.key'}: there is no such file; a publisher's "
        "signing key is made once with `pepperpy keygen --publisher NAME --out DIR` (it "
        "writes DIR/NAME.key, and NAME.pub to hand out)")
