"""A cached "verified" is bound to everything that made it: the trust store, and the
PepperPy whose checks ran. After an upgrade whose checks are stricter, a bundle the older
verifier accepted (and cached) is verified again, never served from the cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pepperpy.bundle.trust import read_trust
from pepperpy.core import BundleInvalidError
from pepperpy.settings import Settings
from pepperpy.testing_bundles import BundleFactory
from pepperpy.trust.gate import authenticate


def test_a_verification_cached_by_an_older_pepperpy_is_not_trusted_after_an_upgrade(
        tmp_path: Path):
    """``provider_name`` ``"sample\\n"`` passed the schema's ``$`` before the true-end
    pattern check existed. A ``verified.json`` entry written then (same file format, keyed
    by the trust store's SHA-256 alone) must not let today's gate skip that check."""
    factory = BundleFactory()
    factory.trust(tmp_path)
    files = factory.files(manifest={"provider_name": "sample\n"})
    data = factory.build(files)
    path = tmp_path / "sample.pepperplugin"
    path.write_bytes(data)
    older_fingerprint = hashlib.sha256((tmp_path / "trust.json").read_bytes()).hexdigest()
    entry = {"trust": older_fingerprint, "key_id": factory.key.key_id,
             "publisher": factory.publisher,
             "manifest": files["plugin.json"].decode("utf-8")}
    (tmp_path / "verified.json").write_text(json.dumps(
        {"format": 1, "entries": {hashlib.sha256(data).hexdigest(): entry}}))
    with pytest.raises(BundleInvalidError, match="provider_name"):
        authenticate(path, read_trust(Settings(home=tmp_path)))


def test_the_trust_fingerprint_names_the_verifier_that_used_it(tmp_path: Path):
    """The fingerprint that keys the verified cache and the listing cache changes with the
    PepperPy version (and with the trust store, as before)."""
    from pepperpy._version import __version__

    BundleFactory().trust(tmp_path)
    trust = read_trust(Settings(home=tmp_path))
    store = hashlib.sha256((tmp_path / "trust.json").read_bytes()).hexdigest()
    assert trust.fingerprint != store
    assert __version__ in trust.fingerprint and store in trust.fingerprint
