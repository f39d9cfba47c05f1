"""``pepperpy repo``: the files it writes, what it refuses, and a stock TUF client."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _metadata(publisher: Publisher) -> list[str]:
    return sorted(p.name for p in (publisher.folder / "metadata").iterdir())


def _init_and_add(publisher: Publisher, *bundles: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    if bundles:
        assert run("repo", "add", publisher.folder, *bundles, "--key", publisher.repo_key) == 0


def test_init_writes_a_consistent_snapshot_repository(publisher: Publisher, home: Path) -> None:
    _init_and_add(publisher)
    assert _metadata(publisher) == ["1.root.json", "1.snapshot.json", "1.targets.json",
                                    "timestamp.json"]
    root = json.loads(publisher.root.read_bytes())["signed"]
    assert root["consistent_snapshot"] is True
    assert set(root["roles"]) == {"root", "targets", "snapshot", "timestamp"}


def test_add_names_the_target_as_plugin_build_does(publisher: Publisher, home: Path) -> None:
    bundle = publisher.bundle("sample", "1.0.0", description="a sample")
    _init_and_add(publisher, bundle)
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert (publisher.folder / "targets" / f"{digest}.sample-1.0.0.pepperplugin").is_file()
    targets = json.loads((publisher.folder / "metadata" / "2.targets.json").read_bytes())
    entry = targets["signed"]["targets"]["sample-1.0.0.pepperplugin"]
    custom = entry["custom"]
    assert entry["hashes"]["sha256"] == digest
    assert (custom["name"], custom["version"], custom["category"], custom["provider_name"]) == (
        "sample", "1.0.0", "llm", "sample")
    assert custom["key_id"] == publisher.factory.key.key_id  # type: ignore[attr-defined]
    assert custom["yanked"] is False
    assert {"pepperpy_compatibility", "python_requires", "publisher_key"} <= set(custom)


def test_add_refuses_a_bundle_that_does_not_verify(publisher: Publisher, home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy_testing.bundles import replace_entry

    bundle = publisher.bundle()
    tampered = publisher.bundles / "tampered-1.0.0.pepperplugin"
    tampered.write_bytes(replace_entry(bundle.read_bytes(), "sample_pkg.py", b"import os\n"))
    _init_and_add(publisher)
    before = _metadata(publisher)
    assert run("repo", "add", publisher.folder, tampered, "--key", publisher.repo_key) == 1
    assert "bundle refused" in capsys.readouterr().err
    assert _metadata(publisher) == before
    assert list((publisher.folder / "targets").iterdir()) == []


def test_add_refuses_an_untrusted_publisher(publisher: Publisher, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEPPERPY_HOME", str(tmp_path / "empty-home"))
    bundle = publisher.bundle()
    _init_and_add(publisher)
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 1
    _, pub = publisher.factory.write_keys(tmp_path / "pub")  # type: ignore[attr-defined]
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key,
               "--publisher-key", pub) == 0


def test_same_version_other_bytes_is_refused_same_bytes_is_a_no_op(
        publisher: Publisher, home: Path) -> None:
    bundle = publisher.bundle("sample", "1.0.0")
    _init_and_add(publisher, bundle)
    before = _metadata(publisher)
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert _metadata(publisher) == before  # nothing new signed
    publisher.bundle("sample", "1.0.0", description="other bytes")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 1
    assert _metadata(publisher) == before


def test_refresh_signs_only_a_new_timestamp(publisher: Publisher, home: Path) -> None:
    _init_and_add(publisher, publisher.bundle())
    before = _metadata(publisher)
    stamp = json.loads((publisher.folder / "metadata" / "timestamp.json").read_bytes())
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key) == 0
    after = json.loads((publisher.folder / "metadata" / "timestamp.json").read_bytes())
    assert _metadata(publisher) == before
    assert after["signed"]["version"] == stamp["signed"]["version"] + 1
    assert after["signed"]["meta"] == stamp["signed"]["meta"]


def test_a_separate_timestamp_key_is_needed_to_publish(publisher: Publisher, home: Path,
                                                       tmp_path: Path) -> None:
    from pepperpy.bundle.keys import generate_key

    cron = generate_key(publisher="cron", out_dir=tmp_path / "cron").private_path
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key,
               "--timestamp-key", cron) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle(),
               "--key", publisher.repo_key) == 0
    stamp = json.loads((publisher.folder / "metadata" / "timestamp.json").read_bytes())
    assert stamp["signed"]["meta"]["snapshot.json"]["version"] == 1  # not yet visible
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key) == 1
    assert run("repo", "refresh", publisher.folder, "--key", cron) == 0
    stamp = json.loads((publisher.folder / "metadata" / "timestamp.json").read_bytes())
    assert stamp["signed"]["meta"]["snapshot.json"]["version"] == 2


def test_yank_marks_the_target_and_keeps_the_file(publisher: Publisher, home: Path) -> None:
    bundle = publisher.bundle()
    _init_and_add(publisher, bundle)
    assert run("repo", "yank", publisher.folder, "sample==1.0.0", "--key",
               publisher.repo_key, "--reason", "broken") == 0
    targets = json.loads((publisher.folder / "metadata" / "3.targets.json").read_bytes())
    custom = targets["signed"]["targets"]["sample-1.0.0.pepperplugin"]["custom"]
    assert custom["yanked"] is True and custom["yanked_reason"] == "broken"
    assert len(list((publisher.folder / "targets").iterdir())) == 1
    assert run("repo", "yank", publisher.folder, "nothing==1.0", "--key",
               publisher.repo_key) == 1


def test_stock_ngclient_reads_what_pepperpy_repo_wrote(publisher: Publisher, home: Path,
                                                      server: IndexServer,
                                                      tmp_path: Path) -> None:
    """Interop with the specification: a plain ``tuf.ngclient.Updater``, no PepperPy."""
    from tuf.ngclient import Updater

    first, second = publisher.bundle("alpha", "1.0.0"), publisher.bundle("beta", "2.0.0")
    _init_and_add(publisher, first, second)
    assert run("repo", "yank", publisher.folder, "alpha==1.0.0", "--key",
               publisher.repo_key) == 0
    cache, downloads = tmp_path / "stock-cache", tmp_path / "stock-downloads"
    cache.mkdir()
    updater = Updater(str(cache), f"{server.url}/metadata/", str(downloads),
                      f"{server.url}/targets/", bootstrap=publisher.root.read_bytes())
    updater.refresh()
    for bundle in (first, second):
        info = updater.get_targetinfo(bundle.name)
        assert info is not None
        path = updater.download_target(info)
        assert Path(path).read_bytes() == bundle.read_bytes()
    assert updater.get_targetinfo("alpha-1.0.0.pepperplugin").custom["yanked"] is True


def test_a_refused_bundle_among_several_publishes_and_writes_none_of_them(
        publisher: Publisher, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init_and_add(publisher, publisher.bundle("sample", "1.0.0"))
    before = _metadata(publisher)
    served = sorted(p.name for p in (publisher.folder / "targets").iterdir())
    new = publisher.bundle("other", "1.0.0")
    changed = publisher.bundle("sample", "1.0.0", description="other bytes")
    capsys.readouterr()
    assert run("repo", "add", publisher.folder, new, changed, "--key",
               publisher.repo_key) == 1
    said = capsys.readouterr()
    assert said.out == "" and "nothing was published" in said.err, said
    assert _metadata(publisher) == before
    assert sorted(p.name for p in (publisher.folder / "targets").iterdir()) == served
    assert run("repo", "add", publisher.folder, new, "--key", publisher.repo_key) == 0
