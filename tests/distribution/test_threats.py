"""One test per threat the TUF specification names (and a few of ours).

Each starts from a machine that installed ``sample 1.0.0`` from the index, then an
attacker (a server switch or forged metadata) interferes with installing ``2.0.0``. Each
asserts the exact ``PepperpyError`` subclass, the threat it names, and that the installed
state (install records and plugin files) is exactly as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError, PepperpyError, UntrustedPublisherError


@pytest.fixture
def attacked(publisher: Publisher, server: IndexServer, home: Path) -> Any:
    """sample 1.0.0 installed from the index; 2.0.0 published after."""
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    return publisher


def _state(home: Path) -> dict[str, bytes]:
    files = [home / "installed.json", *sorted((home / "plugins").iterdir())]
    return {p.name: p.read_bytes() for p in files}


def _install(spec: str = "sample") -> Any:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    return Session(Settings.from_env()).install(spec)


def _refused(home: Path, error: type[PepperpyError], threat: str | None = None,
             spec: str = "sample") -> PepperpyError:
    before = _state(home)
    with pytest.raises(PepperpyError) as info:
        _install(spec)
    assert type(info.value) is error
    if threat is not None:
        assert info.value.threat == threat  # type: ignore[attr-defined]
        assert threat in str(info.value)
    assert _state(home) == before
    assert list((home / "indexes" / "spool").iterdir()) == []
    return info.value


def _publish_v2(publisher: Publisher) -> Path:
    bundle = publisher.bundle("sample", "2.0.0")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    return bundle


def _signed(publisher: Publisher, raw: bytes, edit: Callable[[Any], None],
            key: Path | None = None) -> bytes:
    """Re-sign metadata after ``edit`` (with the repository key unless ``key``)."""
    from tuf.api.metadata import Metadata

    from pepperpy_dev.signer import load_signer

    md = Metadata.from_bytes(raw)
    edit(md.signed)
    md.sign(load_signer(key or publisher.repo_key))
    return md.to_bytes()


def _meta(publisher: Publisher, name: str) -> bytes:
    return (publisher.folder / "metadata" / name).read_bytes()


def test_freeze_expired_timestamp(attacked: Publisher, home: Path) -> None:
    _publish_v2(attacked)
    assert run("repo", "refresh", attacked.folder, "--key", attacked.repo_key,
               "--expires", "timestamp=1s") == 0
    time.sleep(1.5)
    _refused(home, IndexRefusedError, "freeze")


def test_rollback_timestamp_older_than_seen(attacked: Publisher, server: IndexServer,
                                            home: Path) -> None:
    old = _meta(attacked, "timestamp.json")
    _publish_v2(attacked)
    assert run("plugin", "outdated") == 0  # the client sees the new timestamp
    server.state.overrides["/metadata/timestamp.json"] = old
    _refused(home, IndexRefusedError, "rollback")


def test_rollback_snapshot_older_than_seen(attacked: Publisher, server: IndexServer,
                                           home: Path) -> None:
    from tuf.api.metadata import MetaFile

    old_snapshot = _meta(attacked, "2.snapshot.json")
    _publish_v2(attacked)
    assert run("plugin", "outdated") == 0  # the client has seen snapshot 3

    def point_back(ts: Any) -> None:
        ts.version += 1
        ts.snapshot_meta = MetaFile.from_data(2, old_snapshot, ["sha256"])

    server.state.overrides["/metadata/timestamp.json"] = _signed(
        attacked, _meta(attacked, "timestamp.json"), point_back)
    _refused(home, IndexRefusedError, "rollback")


def test_arbitrary_package_bytes_differ_from_metadata(attacked: Publisher,
                                                      server: IndexServer, home: Path) -> None:
    import hashlib

    bundle = _publish_v2(attacked)
    data = bundle.read_bytes()
    url = f"/targets/{hashlib.sha256(data).hexdigest()}.sample-2.0.0.pepperplugin"
    server.state.overrides[url] = data[:-1] + bytes([data[-1] ^ 1])  # same length
    _refused(home, IndexRefusedError, "arbitrary-package")


def _sample_v2(publisher: Publisher, readme: bytes) -> bytes:
    f = publisher.factory
    return f.build(f.files(  # type: ignore[attr-defined,no-any-return]
        manifest={"name": "sample", "version": "2.0.0", "provider_name": "sample",
                  "entry_point": "sample_pkg:Provider"},
        extra={"README.md": readme}))


def test_a_signed_bundle_other_than_the_listed_one_is_refused(
        attacked: Publisher, server: IndexServer, home: Path) -> None:
    """The same name, version and length, signed by the trusted publisher, but not the
    bytes the index signed: the gate accepts it, so only the signed target hash (compared
    with the gate's digest before anything is written) refuses it."""
    import hashlib

    listed = _sample_v2(attacked, b"A" * 200)
    other = _sample_v2(attacked, b"B" * 200)
    assert len(listed) == len(other) and listed != other
    bundle = attacked.bundles / "sample-2.0.0.pepperplugin"
    bundle.write_bytes(listed)
    assert run("repo", "add", attacked.folder, bundle, "--key", attacked.repo_key) == 0
    url = f"/targets/{hashlib.sha256(listed).hexdigest()}.sample-2.0.0.pepperplugin"
    server.state.overrides[url] = other
    error = _refused(home, IndexRefusedError, "arbitrary-package")
    assert hashlib.sha256(other).hexdigest() in str(error)


def test_a_short_download_is_refused(attacked: Publisher, server: IndexServer,
                                     home: Path) -> None:
    import hashlib

    data = _publish_v2(attacked).read_bytes()
    url = f"/targets/{hashlib.sha256(data).hexdigest()}.sample-2.0.0.pepperplugin"
    server.state.overrides[url] = data[:-100]
    error = _refused(home, IndexRefusedError, "arbitrary-package")
    assert f"received {len(data) - 100} bytes" in str(error)


def test_mix_and_match_snapshot_and_targets_disagree(attacked: Publisher, server: IndexServer,
                                                      home: Path) -> None:
    old_targets = _meta(attacked, "2.targets.json")
    _publish_v2(attacked)
    server.state.overrides["/metadata/3.targets.json"] = old_targets
    _refused(home, IndexRefusedError, "mix-and-match")


@pytest.mark.parametrize("what", ["bundle", "timestamp"])
def test_endless_data(what: str, attacked: Publisher, server: IndexServer,
                      home: Path) -> None:
    import hashlib

    bundle = _publish_v2(attacked)
    if what == "bundle":
        digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
        path = f"/targets/{digest}.sample-2.0.0.pepperplugin"
    else:
        path = "/metadata/timestamp.json"
    server.state.extra[path] = 5_000_000
    _refused(home, IndexRefusedError, "endless-data")


def test_slow_retrieval_times_out(attacked: Publisher, server: IndexServer,
                                  home: Path) -> None:
    _publish_v2(attacked)
    server.state.stall = "timestamp.json"
    started = time.monotonic()
    _refused(home, IndexRefusedError, "slow-retrieval")
    assert time.monotonic() - started < 20


def test_slow_retrieval_by_trickling_hits_the_deadline(attacked: Publisher,
                                                       server: IndexServer, home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEPPERPY_INDEX_TIMEOUT", "0.5")  # gap 0.5 s, whole transfer 3 s
    _publish_v2(attacked)
    server.state.trickle = "timestamp.json"
    started = time.monotonic()
    _refused(home, IndexRefusedError, "slow-retrieval")
    assert time.monotonic() - started < 15


def test_metadata_signed_by_a_key_the_root_does_not_name(attacked: Publisher,
                                                         server: IndexServer, home: Path,
                                                         tmp_path: Path) -> None:
    from pepperpy.bundle.keys import generate_key

    _publish_v2(attacked)
    forger = generate_key(publisher="forger", out_dir=tmp_path / "forger").private_path

    def bump(ts: Any) -> None:
        ts.version += 1

    server.state.overrides["/metadata/timestamp.json"] = _signed(
        attacked, _meta(attacked, "timestamp.json"), bump, key=forger)
    _refused(home, IndexRefusedError, "untrusted-metadata")


def test_yanked_version_is_refused(attacked: Publisher, home: Path) -> None:
    _publish_v2(attacked)
    assert run("repo", "yank", attacked.folder, "sample==2.0.0", "--key",
               attacked.repo_key) == 0
    _refused(home, IndexRefusedError, "yanked", spec="sample==2.0.0")
    assert _install("sample").action == "unchanged"  # 1.0.0 is the newest usable


def test_untrusted_publisher_listed_by_the_index(attacked: Publisher, home: Path,
                                                 tmp_path: Path) -> None:
    from pepperpy_testing.bundles import BundleFactory

    stranger = BundleFactory(publisher="stranger")
    bundle = attacked.bundles / "sample-3.0.0.pepperplugin"
    bundle.write_bytes(stranger.build(stranger.files(manifest={
        "name": "sample", "version": "3.0.0", "provider_name": "sample",
        "entry_point": "sample_pkg:Provider"})))
    _, pub = stranger.write_keys(tmp_path / "stranger")
    assert run("repo", "add", attacked.folder, bundle, "--key", attacked.repo_key,
               "--publisher-key", pub) == 0
    error = _refused(home, UntrustedPublisherError)
    assert "an index never makes a publisher trusted" in str(error)


def test_root_rotation_is_followed_by_a_client_that_pinned_the_old_root(
        attacked: Publisher, home: Path, tmp_path: Path) -> None:
    from pepperpy.bundle.keys import generate_key

    new = generate_key(publisher="new-root", out_dir=tmp_path / "new").private_path
    assert run("repo", "rotate", attacked.folder, "--key", attacked.repo_key,
               "--new-key", new) == 0
    assert run("repo", "add", attacked.folder, attacked.bundle("sample", "2.0.0"),
               "--key", attacked.repo_key) == 1  # the old key holds no role any more
    assert run("repo", "add", attacked.folder, attacked.bundle("sample", "2.0.0"),
               "--key", new) == 0
    assert _install().action == "upgraded"
    assert (home / "indexes" / "main" / "metadata" / "root_history" / "2.root.json").is_file()


def test_root_signed_only_by_the_new_key_is_refused(attacked: Publisher, server: IndexServer,
                                                     home: Path, tmp_path: Path) -> None:
    from tuf.api.metadata import Metadata

    from pepperpy.bundle.keys import generate_key
    from pepperpy_dev.signer import load_signer

    new = load_signer(generate_key(publisher="usurper", out_dir=tmp_path / "u").private_path)
    md = Metadata.from_bytes(attacked.root.read_bytes())
    root = md.signed
    old_id = root.roles["root"].keyids[0]
    for role in ("root", "targets", "snapshot", "timestamp"):
        root.revoke_key(old_id, role)
        root.add_key(new.public_key, role)
    root.version = 2
    md.signatures.clear()
    md.sign(new)
    server.state.overrides["/metadata/2.root.json"] = md.to_bytes()
    _publish_v2(attacked)
    _refused(home, IndexRefusedError, "untrusted-metadata")


def test_garbage_metadata_is_refused_and_its_bytes_are_escaped(attacked: Publisher,
                                                              server: IndexServer,
                                                              home: Path) -> None:
    server.state.overrides["/metadata/timestamp.json"] = (
        b'{"signed": {"_type": "\\u001b[31mevil"}, "signatures": []}')
    error = _refused(home, IndexRefusedError, "invalid-metadata")
    assert "\x1b" not in str(error) and "\\x1b" in str(error)


def _relabel(publisher: Publisher, old_bundle: Path, claimed: str) -> None:
    """The index's key holder lists the publisher's genuine OLD bundle as `claimed`."""
    import hashlib

    from tuf.api.metadata import TargetFile

    from pepperpy_dev.repository import Repository
    from pepperpy_dev.signer import load_signer

    signer = load_signer(publisher.repo_key)
    repo = Repository(publisher.folder)
    data = old_bundle.read_bytes()
    path = f"sample-{claimed}.pepperplugin"
    (repo.targets_dir / f"{hashlib.sha256(data).hexdigest()}.{path}").write_bytes(data)
    with repo._lock():
        targets = repo.targets()
        target = TargetFile.from_data(path, data, ["sha256"])
        target.unrecognized_fields["custom"] = {
            "name": "sample", "version": claimed, "category": "llm",
            "provider_name": "sample", "description": "", "yanked": False}
        targets.signed.targets[path] = target
        repo._publish(targets, repo.root().signed, [signer])


def test_an_old_bundle_listed_as_a_new_version_is_refused(attacked: Publisher,
                                                          home: Path) -> None:
    """The index signs a target whose bytes are the publisher's genuine 1.0.0 but lists
    it as 99.0: TUF's checks pass (the metadata is the index's own), the bundle verifies
    (the publisher signed it), yet installing it would freeze the plugin at 1.0.0 while
    `outdated` and `update` believe 99.0. The signed manifest must match the listing."""
    _relabel(attacked, attacked.bundles / "sample-1.0.0.pepperplugin", "99.0")
    error = _refused(home, IndexRefusedError, "arbitrary-package", spec="sample==99.0")
    assert "signed manifest says sample 1.0.0" in str(error)


def test_an_installed_bundle_revoked_since_is_not_reported_unchanged(attacked: Publisher,
                                                                     home: Path) -> None:
    """`plugin install NAME` of the installed version skips the download, never the
    checks: after `trust revoke-bundle`, it is refused, not 'unchanged'."""
    import hashlib

    from pepperpy.core import RevokedError

    bundle = attacked.bundles / "sample-1.0.0.pepperplugin"
    assert run("trust", "revoke-bundle", hashlib.sha256(bundle.read_bytes()).hexdigest()) == 0
    _refused(home, RevokedError)


def test_a_target_longer_than_any_bundle_is_refused_before_it_is_downloaded(
        attacked: Publisher, server: IndexServer, home: Path) -> None:
    """The index signs a target far longer than the largest bundle the gate accepts:
    downloading it into memory first would let an index's key holder make every install
    hold gigabytes. Refused from the signed length, before any byte is requested."""
    import hashlib

    from tuf.api.metadata import TargetFile

    from pepperpy.trust.types import DEFAULT_LIMITS
    from pepperpy_dev.repository import Repository
    from pepperpy_dev.signer import load_signer

    data = _publish_v2(attacked).read_bytes()
    repo = Repository(attacked.folder)
    with repo._lock():
        targets = repo.targets()
        path = "sample-2.0.0.pepperplugin"
        listed = targets.signed.targets[path]
        huge = TargetFile(DEFAULT_LIMITS.max_bundle_size + 1,
                          {"sha256": hashlib.sha256(data).hexdigest()}, path,
                          unrecognized_fields=dict(listed.unrecognized_fields))
        targets.signed.targets[path] = huge
        repo._publish(targets, repo.root().signed, [load_signer(attacked.repo_key)])
    server.state.requests.clear()
    error = _refused(home, IndexRefusedError, "endless-data", spec="sample==2.0.0")
    assert "byte limit" in str(error)
    assert not [r for r in server.state.requests if r.startswith("/targets/")]
