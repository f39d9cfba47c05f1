"""SIGKILL at every write point of ``plugin update``, ``index add``, ``repo add`` and
``trust add/remove``: the old state or the new one holds, the rerun finishes the job,
and no temporary file is left (none ever in a repository's served folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crash import clone, every_point, leftovers, pepperpy

from pepperpy.settings import Settings


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """base/repo: an index offering sample 1.0.0; base/keys: its key; base/home trusts
    the bundle publisher; base/bundles holds sample 1.0.0 and 2.0.0."""
    from pepperpy.bundle.keys import generate_key
    from pepperpy_testing.bundles import BundleFactory

    root = tmp_path / "base"
    factory = BundleFactory(publisher="acme")
    factory.trust(root / "home")
    key = generate_key(publisher="index", out_dir=root / "keys").private_path
    (root / "bundles").mkdir()
    for version in ("1.0.0", "2.0.0"):
        fields = {"name": "sample", "version": version, "provider_name": "sample",
                  "entry_point": "sample_pkg:Provider"}
        (root / "bundles" / f"sample-{version}.pepperplugin").write_bytes(
            factory.build(factory.files(manifest=fields)))
    _ok(pepperpy(root / "home", "repo", "init", root / "repo", "--key", key))
    _ok(pepperpy(root / "home", "repo", "add", root / "repo",
                 root / "bundles" / "sample-1.0.0.pepperplugin", "--key", key))
    factory.write_keys(root / "keys")
    return root


def _ok(done) -> None:
    assert done.returncode == 0, done.stderr


def _settings(home: Path) -> Settings:
    return Settings(home=home, checkout_plugins=False, auto_install=False)


def _usable_version(home: Path) -> str:
    from pepperpy.plugins.manager import PluginManager

    chosen = PluginManager(_settings(home)).choose("llm", "sample")
    assert chosen is not None
    return chosen.manifest.version


def test_update_killed_at_every_write_point(base: Path, tmp_path: Path) -> None:
    home = base / "home"
    _ok(pepperpy(home, "index", "add", "main", (base / "repo").as_uri(),
                 "--root", base / "repo" / "metadata" / "1.root.json"))
    _ok(pepperpy(home, "plugin", "install", "sample"))
    _ok(pepperpy(home, "repo", "add", base / "repo",
                 base / "bundles" / "sample-2.0.0.pepperplugin", "--key",
                 base / "keys" / "index.key"))

    def after_crash(root: Path, where: str) -> None:
        assert _usable_version(root / "home") in {"1.0.0", "2.0.0"}, where

    def after_rerun(root: Path, where: str) -> None:
        assert _usable_version(root / "home") == "2.0.0", where

    labels = every_point(base, tmp_path / "work", ["plugin", "update"],
                         after_crash=after_crash, after_rerun=after_rerun,
                         home_of=lambda root: root / "home")
    bundle = [label.split()[0] for label in labels if label.endswith("sample.pepperplugin")]
    # received into an unnamed file (killed halfway: nothing to clean), then linked and
    # renamed into place under the install lock
    assert bundle == ["receive", "create", "replace"], labels


def test_index_add_killed_at_every_write_point(base: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"

    def after_crash(root: Path, where: str) -> None:
        listed = pepperpy(root / "home", "index", "list", "--json")
        assert listed.returncode == 0, (where, listed.stderr)
        assert [i["name"] for i in json.loads(listed.stdout)] in ([], ["main"]), where

    def after_rerun(root: Path, where: str) -> None:
        found = pepperpy(root / "home", "plugin", "search", "sample", "--json")
        assert found.returncode == 0, (where, found.stderr)
        assert [o["version"] for o in json.loads(found.stdout)] == ["1.0.0"], where

    labels = every_point(base, work, ["index", "add", "main", (base / "repo").as_uri(),
                                      "--root", base / "repo" / "metadata" / "1.root.json"],
                         after_crash=after_crash, after_rerun=after_rerun,
                         home_of=lambda root: root / "home")
    assert any("indexes.json" in label for label in labels)


def test_repo_add_killed_at_every_write_point_is_finished_by_running_it_again(
        base: Path, tmp_path: Path) -> None:
    """A static server may publish metadata/ and targets/ at any moment: after each
    crash they hold no temporary file and a client sees the old index or the new one;
    the same `repo add` again publishes (never "unchanged" with nothing served)."""
    work = tmp_path / "work"

    def client_sees(root: Path, where: str) -> list[str]:
        served = [p.name for p in (root / "repo" / "metadata").iterdir()] + [
            p.name for p in (root / "repo" / "targets").iterdir()]
        assert not [n for n in served if n.startswith(".")], (where, served)
        client = root / f"client-{len(list(root.glob('client-*')))}"
        (client).mkdir()
        added = pepperpy(client, "index", "add", "main", (root / "repo").as_uri(),
                         "--root", root / "repo" / "metadata" / "1.root.json")
        assert added.returncode == 0, (where, added.stderr)
        found = pepperpy(client, "plugin", "search", "--json")
        return sorted(o["version"] for o in json.loads(found.stdout))

    def after_crash(root: Path, where: str) -> None:
        assert client_sees(root, where) in (["1.0.0"], ["1.0.0", "2.0.0"]), where

    def after_rerun(root: Path, where: str) -> None:
        assert client_sees(root, where) == ["1.0.0", "2.0.0"], where
        for client in root.glob("client-*"):
            import shutil

            shutil.rmtree(client)

    every_point(base, work, ["repo", "add", work / "repo",
                             work / "bundles" / "sample-2.0.0.pepperplugin",
                             "--key", work / "keys" / "index.key"],
                after_crash=after_crash, after_rerun=after_rerun,
                home_of=lambda root: root / "home")


@pytest.mark.parametrize("change", ["add", "remove", "revoke"])
def test_trust_change_killed_at_every_write_point_keeps_revocations(
        base: Path, tmp_path: Path, change: str) -> None:
    """The trust store and its backup are written one after the other: a crash between
    leaves either readable, and a revoked key is never trusted again."""
    from pepperpy.bundle.keys import SigningKey
    from pepperpy.bundle.trust import TrustStore

    home = base / "home"
    revoked, other = SigningKey.generate(), SigningKey.generate()
    for key, name in ((revoked, "revoked"), (other, "other")):
        (base / "keys" / f"{name}.pub").write_bytes(key.public_key.pem())
        _ok(pepperpy(home, "trust", "add", base / "keys" / f"{name}.pub"))
    _ok(pepperpy(home, "trust", "revoke", revoked.key_id))
    argv = {"add": ["trust", "add", base / "keys" / "acme.pub"],
            "remove": ["trust", "remove", other.key_id],
            "revoke": ["trust", "revoke", other.key_id]}[change]
    if change == "add":
        _ok(pepperpy(home, "trust", "remove", TrustStore(home / "trust.json").list()[0].key_id))

    def revoked_stays_revoked(root: Path, where: str) -> None:
        store = TrustStore(root / "home" / "trust.json")
        key = store.snapshot().get(revoked.key_id)
        assert key is not None and key.revoked, where
        backup = TrustStore(root / "home" / "trust.json.bak").snapshot().get(revoked.key_id)
        assert backup is not None and backup.revoked, where

    def after_rerun(root: Path, where: str) -> None:
        revoked_stays_revoked(root, where)
        assert (root / "home" / "trust.json").read_bytes() == (
            root / "home" / "trust.json.bak").read_bytes(), where

    every_point(base, tmp_path / "work", argv, after_crash=revoked_stays_revoked,
                after_rerun=after_rerun, home_of=lambda root: root / "home")
    assert leftovers(tmp_path / "work") == []


def test_update_with_nothing_newer_settles_what_a_killed_install_left(
        base: Path, tmp_path: Path) -> None:
    """`plugin update` first settles an interrupted install (it looks without the lock,
    and takes the lock only when something is pending): killed while writing sample
    2.0.0 from a file, the next update, which finds nothing newer in the index, rolls
    the install back, removes its temporary file, and 1.0.0 stays usable."""
    from pepperpy.plugins.state import load_state

    home = base / "home"
    _ok(pepperpy(home, "index", "add", "main", (base / "repo").as_uri(),
                 "--root", base / "repo" / "metadata" / "1.root.json"))
    _ok(pepperpy(home, "plugin", "install", "sample"))
    newer = base / "bundles" / "sample-2.0.0.pepperplugin"
    log = tmp_path / "points.log"
    dry = clone(home, tmp_path / "dry")
    _ok(pepperpy(dry, "plugin", "install", newer, env={"PEPPERPY_CRASH_LOG": str(log)}))
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    point = next(i for i, label in enumerate(labels, 1)
                 if label.startswith("write") and label.endswith("sample.pepperplugin"))
    killed = pepperpy(home, "plugin", "install", newer, env={"PEPPERPY_CRASH_AT": str(point)})
    assert killed.returncode == -9
    state_file = _settings(home).state_file
    assert load_state(state_file).pending and leftovers(home)
    updated = pepperpy(home, "plugin", "update")
    assert updated.returncode == 0, updated.stderr
    assert "everything is up to date" in updated.stdout
    assert not load_state(state_file).pending
    assert leftovers(home) == []
    assert _usable_version(home) == "1.0.0"


def test_index_trust_killed_at_every_write_point_trusts_every_key_or_none(
        base: Path, tmp_path: Path) -> None:
    """`index trust` adds the keys of all the publishers an index names in one write of
    the trust store: killed anywhere, it has trusted all of them or none."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy_testing.bundles import BundleFactory

    home = base / "home"
    beta = BundleFactory(publisher="beta")
    other = base / "bundles" / "other-1.0.0.pepperplugin"
    other.write_bytes(beta.build(beta.files(manifest={
        "name": "other", "version": "1.0.0", "provider_name": "other",
        "entry_point": "other_pkg:Provider"})))
    _, pub = beta.write_keys(base / "keys")
    _ok(pepperpy(home, "repo", "add", base / "repo", other, "--key",
                 base / "keys" / "index.key", "--publisher-key", pub))
    for name in ("trust.json", "trust.json.bak"):
        (home / name).unlink()
    _ok(pepperpy(home, "index", "add", "main", (base / "repo").as_uri(),
                 "--root", base / "repo" / "metadata" / "1.root.json"))

    def publishers(root: Path) -> list[str]:
        return sorted(k.publisher for k in TrustStore(root / "home" / "trust.json").list())

    def after_crash(root: Path, where: str) -> None:
        assert publishers(root) in ([], ["acme", "beta"]), where

    def after_rerun(root: Path, where: str) -> None:
        assert publishers(root) == ["acme", "beta"], where

    labels = every_point(base, tmp_path / "work", ["index", "trust", "main", "--yes"],
                         after_crash=after_crash, after_rerun=after_rerun,
                         home_of=lambda root: root / "home")
    assert sum(label.startswith("replace") and label.endswith("trust.json")
               for label in labels) == 1, labels
    assert leftovers(tmp_path / "work") == []
