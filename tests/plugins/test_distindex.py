"""The dist-info index behind the dependency check: it agrees with importlib.metadata,
notices installs, and steps aside whenever it cannot be sure."""

from __future__ import annotations

import os
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from pepperpy.plugins import distindex
from pepperpy.plugins.dependencies import find_unsatisfied


def _dist(folder: Path, stem: str, *, name: str, version: str, suffix: str = ".dist-info"):
    info = folder / f"{stem}{suffix}"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return info


def _age(folder: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    distindex.invalidate()
    yield folder
    distindex.invalidate()


def test_index_agrees_with_importlib_metadata_for_every_name_it_answers():
    distindex.invalidate()
    index = distindex.current()
    assert index is not None and index.versions
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        found = index.version(name)
        if found is not None:
            assert found == metadata.version(name), name


def test_an_install_is_seen_and_the_cache_is_keyed_by_folder_mtime(site):
    _dist(site, "pepperpy_fake_dep-1.0", name="pepperpy-fake-dep", version="1.0")
    _age(site, 100)
    assert find_unsatisfied(["pepperpy.fake_dep>=1"]) == []
    first = distindex.current()
    assert distindex.current() is first  # cached: nothing changed
    assert first.version("Pepperpy_Fake.Dep") == "1.0"  # PEP 503 names
    # "uv installs 2.0": the old record goes, a new one comes, the folder mtime moves.
    (site / "pepperpy_fake_dep-1.0.dist-info" / "METADATA").unlink()
    (site / "pepperpy_fake_dep-1.0.dist-info").rmdir()
    _dist(site, "pepperpy_fake_dep-2.0", name="pepperpy-fake-dep", version="2.0")
    _age(site, 50)
    assert distindex.current() is not first
    assert find_unsatisfied(["pepperpy-fake-dep>=2"]) == []
    [missing] = find_unsatisfied(["pepperpy-fake-dep<2"])
    assert missing.found == "2.0"


def test_a_folder_changed_just_now_is_not_cached(site):
    _dist(site, "pepperpy_fake_dep-1.0", name="pepperpy-fake-dep", version="1.0")
    index = distindex.current()
    assert index.racy and distindex.current() is not index


def test_the_first_folder_on_sys_path_wins(site, tmp_path, monkeypatch):
    later = tmp_path / "later"
    _dist(site, "pepperpy_fake_dep-1.0", name="pepperpy-fake-dep", version="1.0")
    _dist(later, "pepperpy_fake_dep-3.0", name="pepperpy-fake-dep", version="3.0")
    monkeypatch.setattr(sys, "path", [str(site), str(later), *sys.path[1:]])
    assert distindex.current().version("pepperpy-fake-dep") == "1.0"
    assert metadata.version("pepperpy-fake-dep") == "1.0"


@pytest.mark.parametrize("layout", ["two-records", "egg-info", "odd-version"])
def test_unclear_records_are_left_to_importlib_metadata(site, layout):
    if layout == "two-records":
        _dist(site, "pepperpy_fake_dep-1.0", name="pepperpy-fake-dep", version="1.0")
        _dist(site, "Pepperpy_Fake_Dep-2.0", name="pepperpy-fake-dep", version="2.0")
    elif layout == "egg-info":
        _dist(site, "pepperpy_fake_dep-1.0-py3.11", name="pepperpy-fake-dep", version="1.0",
              suffix=".egg-info")
    else:
        _dist(site, "pepperpy_fake_dep-1.0-1", name="pepperpy-fake-dep", version="1.0")
    assert distindex.current().version("pepperpy-fake-dep") is None
    # ... and the check still gets importlib.metadata's answer.
    expected = metadata.version("pepperpy-fake-dep")
    [missing] = find_unsatisfied(["pepperpy-fake-dep>99"])
    assert missing.found == expected


def test_a_zip_on_sys_path_turns_the_index_off(site, tmp_path, monkeypatch):
    archive = tmp_path / "deps.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert distindex.current() is None
    assert find_unsatisfied(["packaging>=20"]) == []  # importlib.metadata answered


def test_a_missing_distribution_is_confirmed_by_importlib_metadata(site):
    [missing] = find_unsatisfied(["pepperpy-surely-absent>=1"])
    assert missing.found is None
