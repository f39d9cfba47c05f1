"""``index mirror`` writes only inside its folder: links planted there are refused, a
hostile index cannot name a path outside it, downloads are verified in the spool first."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _published(publisher: Publisher, *names: str) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for name in names:
        assert run("repo", "add", publisher.folder, publisher.bundle(name, "1.0.0"),
                   "--key", publisher.repo_key) == 0


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (links not followed)."""
    found = {}
    for here, dirs, files in os.walk(folder):
        for name in files + dirs:
            path = Path(here) / name
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(folder))] = path.read_bytes()
            elif path.is_dir():
                found[str(path.relative_to(folder))] = b"<dir>"
    return found


def _target_name(publisher: Publisher, name: str = "sample") -> str:
    data = (publisher.bundles / f"{name}-1.0.0.pepperplugin").read_bytes()
    return f"{hashlib.sha256(data).hexdigest()}.{name}-1.0.0.pepperplugin"


@pytest.mark.parametrize("planted", ["metadata-folder", "targets-folder", "bundle-file",
                                     "timestamp-file", "root-file"])
def test_links_planted_in_the_mirror_change_nothing_outside_it(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], planted: str) -> None:
    _published(publisher, "sample")
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("timestamp.json", "1.root.json", _target_name(publisher), "keep.txt"):
        (outside / name).write_bytes(b"operator's file\n")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    link, to = {
        "metadata-folder": (mirror / "metadata", outside),
        "targets-folder": (mirror / "targets", outside),
        "bundle-file": (mirror / "targets" / _target_name(publisher),
                        outside / _target_name(publisher)),
        "timestamp-file": (mirror / "metadata" / "timestamp.json", outside / "timestamp.json"),
        "root-file": (mirror / "metadata" / "1.root.json", outside / "1.root.json"),
    }[planted]
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(to)
    before = _snapshot(outside)
    capsys.readouterr()
    assert run("index", "mirror", "main", mirror) == 1
    errors = [x for x in capsys.readouterr().err.splitlines() if x.startswith("pepperpy:")]
    assert len(errors) == 1 and str(link) in errors[0] and "link" in errors[0], errors
    assert _snapshot(outside) == before
    assert link.is_symlink()  # refused, not silently replaced


def test_a_hostile_index_cannot_name_a_path_outside_the_mirror(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path) -> None:
    """The index's key holder lists a target whose sha256 is a relative path: before the
    fix, the mirror created folders outside itself before any verification."""
    from tuf.api.metadata import TargetFile

    from pepperpy.distribution.repository import Repository
    from pepperpy.distribution.signer import load_signer

    _published(publisher, "sample")
    repo = Repository(publisher.folder)
    data = publisher.bundle("evil", "1.0.0").read_bytes()
    with repo._lock():
        targets = repo.targets()
        target = TargetFile.from_data("evil-1.0.0.pepperplugin", data, ["sha256"])
        target.hashes = {"sha256": "../../escaped/deeper/x"}
        target.unrecognized_fields["custom"] = {
            "name": "evil", "version": "1.0.0", "category": "llm", "provider_name": "evil",
            "description": "", "yanked": False}
        targets.signed.targets[target.path] = target
        repo._publish(targets, repo.root().signed, [load_signer(publisher.repo_key)])
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    mirror = tmp_path / "mirrors" / "one"
    assert run("index", "mirror", "main", mirror) == 0
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "mirrors" / "escaped").exists()
    assert sorted(p.name for p in (mirror / "targets").iterdir()) == [_target_name(publisher)]


def test_mirror_downloads_pass_through_the_private_spool(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path) -> None:
    """Nothing unverified ever sits in the mirror: the served folder gets only renamed,
    complete files, and neither the mirror nor the spool keeps a temporary file."""
    _published(publisher, "sample", "other")
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    mirror = tmp_path / "mirror"
    assert run("index", "mirror", "main", mirror) == 0
    names = [p.name for p in mirror.rglob("*")]
    assert not [n for n in names if n.startswith(".") or n.startswith("tmp")], names
    assert sorted(p.name for p in (mirror / "targets").iterdir()) == sorted(
        [_target_name(publisher, "other"), _target_name(publisher)])
    assert list((home / "indexes" / "spool").iterdir()) == []
