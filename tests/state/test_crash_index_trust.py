"""SIGKILL at every write point of ``index add --trust-publishers``: the index record and
the trust write are one unit. After a crash the next command that reads the index store
finds the index with its publishers' keys, or neither, and says what it settled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crash import clone, every_point, pepperpy

NOTE = "trust-pending.json"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """base/repo: an index offering sample 1.0.0, signed by acme; base/fresh: a home that
    trusts no one; base/acme.id: the key id the index names."""
    from pepperpy.bundle.keys import generate_key
    from pepperpy.bundle.trust import TrustStore
    from pepperpy_testing.bundles import BundleFactory

    root = tmp_path / "base"
    factory = BundleFactory(publisher="acme")
    factory.trust(root / "publisher-home")
    key = generate_key(publisher="index", out_dir=root / "keys").private_path
    fields = {"name": "sample", "version": "1.0.0", "provider_name": "sample",
              "entry_point": "sample_pkg:Provider"}
    bundle = root / "sample-1.0.0.pepperplugin"
    bundle.write_bytes(factory.build(factory.files(manifest=fields)))
    home = root / "publisher-home"
    assert pepperpy(home, "repo", "init", root / "repo", "--key", key).returncode == 0
    assert pepperpy(home, "repo", "add", root / "repo", bundle, "--key", key).returncode == 0
    (root / "acme.id").write_text(TrustStore(home / "trust.json").list()[0].key_id)
    (root / "fresh").mkdir()
    return root


def _add(root: Path) -> list[object]:
    return ["index", "add", "main", (root / "repo").as_uri(), "--root",
            root / "repo" / "metadata" / "1.root.json", "--trust-publishers"]


def _state(root: Path) -> tuple[list[str], bool]:
    """The indexes ``index list`` shows (settling first), and whether acme is trusted."""
    from pepperpy.bundle.trust import TrustStore

    listed = pepperpy(root / "fresh", "index", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    key = TrustStore(root / "fresh" / "trust.json").snapshot().get(
        (root / "acme.id").read_text())
    return [i["name"] for i in json.loads(listed.stdout)], key is not None


def test_index_add_trusting_publishers_killed_anywhere_adds_both_or_neither(
        base: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    settled = []

    def after_crash(root: Path, where: str) -> None:
        record = root / "fresh" / "indexes" / "indexes.json"
        noted = (root / "fresh" / "indexes" / "main" / NOTE).exists() and record.exists() \
            and "main" in json.loads(record.read_bytes())["indexes"]  # recorded with it
        listed = pepperpy(root / "fresh", "index", "list")
        assert ("pepperpy: note: " in listed.stderr) == noted, (where, listed.stderr)
        settled.append(noted)
        assert _state(root) in [([], False), (["main"], True)], where
        if noted:
            assert not (root / "fresh" / "indexes" / "main" / NOTE).exists(), where

    def after_rerun(root: Path, where: str) -> None:
        assert _state(root) == (["main"], True), where

    labels = every_point(base, work, _add(work), after_crash=after_crash,
                         after_rerun=after_rerun, home_of=lambda root: root / "fresh")
    assert any("trust.json" in label for label in labels)
    assert any(settled)  # some crashes fell between the two writes


def _point(base: Path, tmp_path: Path, ends: str, kind: str) -> int:
    """The number of the first write point of ``kind`` on a path ending in ``ends``."""
    dry = clone(base, tmp_path / "dry")
    log = tmp_path / "points.log"
    done = pepperpy(dry / "fresh", *_add(dry), env={"PEPPERPY_CRASH_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    return next(i for i, label in enumerate(labels, 1)
                if label.startswith(kind) and label.endswith(ends))


def test_killed_between_the_record_and_the_trust_write_the_next_install_undoes_it(
        base: Path, tmp_path: Path) -> None:
    point = _point(base, tmp_path, "trust.json", "create")
    killed = pepperpy(base / "fresh", *_add(base), env={"PEPPERPY_CRASH_AT": str(point)})
    assert killed.returncode == -9
    assert (base / "fresh" / "indexes" / "main" / NOTE).is_file()  # recorded, untrusted
    install = pepperpy(base / "fresh", "plugin", "install", "sample")
    assert install.returncode == 1
    assert ("pepperpy: note: took index 'main' out again: an interrupted `pepperpy index "
            "add main --trust-publishers` had recorded it without trusting its "
            "publishers' keys; run that command again to add it") in install.stderr
    assert "no plugin index is configured" in install.stderr, install.stderr
    assert _state(base) == ([], False)
    assert pepperpy(base / "fresh", *_add(base)).returncode == 0  # as the note says
    assert _state(base) == (["main"], True)


def test_killed_after_the_trust_write_the_next_command_finishes_it(
        base: Path, tmp_path: Path) -> None:
    point = _point(base, tmp_path, NOTE, "remove")
    killed = pepperpy(base / "fresh", *_add(base), env={"PEPPERPY_CRASH_AT": str(point)})
    assert killed.returncode == -9
    assert (base / "fresh" / "indexes" / "main" / NOTE).is_file()
    found = pepperpy(base / "fresh", "plugin", "search", "sample")
    assert found.returncode == 0, found.stderr
    assert ("pepperpy: note: finished the interrupted `pepperpy index add main "
            "--trust-publishers`: the index and its publishers' keys are both in place"
            ) in found.stderr
    assert not (base / "fresh" / "indexes" / "main" / NOTE).exists()
    assert _state(base) == (["main"], True)


def test_plugin_doctor_lists_the_note_and_fix_settles_it(base: Path, tmp_path: Path) -> None:
    point = _point(base, tmp_path, "trust.json", "create")
    assert pepperpy(base / "fresh", *_add(base),
                    env={"PEPPERPY_CRASH_AT": str(point)}).returncode == -9
    note = base / "fresh" / "indexes" / "main" / NOTE
    doctor = pepperpy(base / "fresh", "plugin", "doctor")
    assert (f"[leftover] {note}: an interrupted `pepperpy index add main "
            "--trust-publishers`") in doctor.stdout, doctor.stdout
    assert note.is_file()  # listing changes nothing
    fixed = pepperpy(base / "fresh", "plugin", "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert f"[fixed] {note}" in fixed.stdout, fixed.stdout
    assert not (base / "fresh" / "indexes" / "main").exists()
    assert _state(base) == ([], False)
