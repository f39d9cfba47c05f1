"""An install by name verifies the download in memory, once.

The bundle's bytes never touch the disk before they are checked: the gate verifies
them, and its SHA-256 (the only pass over the bundle) must equal the signed target
hash before anything is written. ``Target.check`` is ngclient's length-and-hashes check
of a target, fed with that digest: these tests hold it to ngclient's rules with real
``TargetFile`` objects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError
from pepperpy.distribution.client import Target

DATA = b"bundle bytes" * 100


def _target(**hashes: str) -> Target:
    from tuf.api.metadata import TargetFile

    return Target("main", "sample-1.0.0.pepperplugin",
                  TargetFile(len(DATA), hashes, "sample-1.0.0.pepperplugin"), DATA)


def _sha(name: str, data: bytes = DATA) -> str:
    return hashlib.new(name, data).hexdigest()


def test_the_gate_digest_matching_the_signed_sha256_passes() -> None:
    _target(sha256=_sha("sha256")).check(_sha("sha256"))
    _target(sha256=_sha("sha256"), sha512=_sha("sha512")).check(_sha("sha256"))


@pytest.mark.parametrize("hashes, why", [
    ({"sha256": _sha("sha256", b"other")}, "is not the signed"),
    ({"sha512": _sha("sha512")}, "is not the signed None"),  # no sha256: never enough
    ({"sha256": _sha("sha256"), "sha512": _sha("sha512", b"other")}, "sha512"),
    ({"sha256": _sha("sha256"), "nohash": "00"}, "unsupported hash algorithm"),
], ids=["other-sha256", "no-sha256", "other-sha512", "unknown-algorithm"])
def test_a_target_whose_hashes_do_not_all_match_is_refused(hashes: dict[str, str],
                                                           why: str) -> None:
    with pytest.raises(IndexRefusedError) as info:
        _target(**hashes).check(_sha("sha256"))
    assert info.value.threat == "arbitrary-package"  # type: ignore[attr-defined]
    assert why in str(info.value)


def test_a_refusal_of_unsigned_bytes_names_the_arbitrary_package() -> None:
    from pepperpy.core import BundleInvalidError

    gate_said = BundleInvalidError("the signature does not match")
    with pytest.raises(IndexRefusedError) as info:
        _target(sha256=_sha("sha256", b"other")).refuse_unless_signed(gate_said)
    assert info.value.__cause__ is gate_said
    _target(sha256=_sha("sha256")).refuse_unless_signed(gate_said)  # signed: the gate's


def test_install_by_name_leaves_what_a_file_install_leaves(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path) -> None:
    """The installed bytes are the index's, nothing is left in the spool, and the
    verified cache holds the entry a file install of the same bundle records, so the
    first load needs no verification."""
    bundle = publisher.bundle("sample", "1.0.0")
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == bundle.read_bytes()
    assert list((home / "indexes" / "spool").iterdir()) == []
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    by_name = json.loads((home / "verified.json").read_bytes())["entries"][digest]

    from pepperpy.plugins.install import install_bundle
    from pepperpy.settings import Settings

    other = Settings(home=tmp_path / "file-home", checkout_plugins=False)
    other.trust_file.parent.mkdir(parents=True)
    trust_file = Settings(home=home, checkout_plugins=False).trust_file
    other.trust_file.write_bytes(trust_file.read_bytes())  # the same trust fingerprint
    install_bundle(bundle, settings=other)
    by_file = json.loads((other.home / "verified.json").read_bytes())["entries"][digest]
    assert by_name == by_file
