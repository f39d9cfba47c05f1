"""An independent verifier written from docs/bundle-format.md alone.

Uses only zipfile, hashlib, json, base64 and PyNaCl (libsodium), not PepperPy's code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile

import nacl.signing

from pepperpy.testing_bundles import BundleFactory


def independent_verify(data: bytes, public_key_raw: bytes) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = archive.infolist()
    assert infos[-1].filename == ".pepperpy-signature"
    sig = json.loads(archive.read(infos[-1]))
    assert sorted(sig) == ["format", "key_id", "signature"]
    assert sig["format"] == "pepperpy-bundle/2"
    assert sig["key_id"] == hashlib.sha256(public_key_raw).hexdigest()
    prefix = data[: infos[-1].header_offset]
    statement = (f"pepperpy-bundle/2\nentries-sha256 {hashlib.sha256(prefix).hexdigest()}\n"
                 .encode())
    nacl.signing.VerifyKey(public_key_raw).verify(statement,
                                                  base64.b64decode(sig["signature"]))
    for info in infos[:-1]:
        archive.read(info)  # zipfile checks each CRC-32
    return json.loads(archive.read("plugin.json"))


def test_pynacl_verifies_our_bundle(factory: BundleFactory) -> None:
    files = factory.files(extra={"sample_data/big.txt": b"lorem ipsum " * 5000})
    data = factory.build(files)
    manifest = independent_verify(data, factory.key.public_key.raw)
    assert manifest["name"] == "sample"


def test_pynacl_rejects_tampered_bundle(factory: BundleFactory) -> None:
    import pytest

    from pepperpy.testing_bundles import replace_entry

    data = replace_entry(factory.build(), "sample.py", b"import os\n")
    with pytest.raises(nacl.exceptions.BadSignatureError):
        independent_verify(data, factory.key.public_key.raw)
