"""The one door for writes (``pepperpy.fsio.atomic_write``): no link is followed,
nothing is created outside the folder it is confined to, errors name the target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pepperpy.core import StateError
from pepperpy.fsio import atomic_write, is_temp_name


def test_replaces_the_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "home" / "state.json"
    atomic_write(target, b"one", root=tmp_path / "home")
    atomic_write(target, b"two", root=tmp_path / "home", mode=0o600)
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert os.listdir(target.parent) == ["state.json"]


def test_a_link_at_the_target_is_refused_and_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep")
    home = tmp_path / "home"
    home.mkdir()
    (home / "trust.json").symlink_to(outside)
    with pytest.raises(StateError) as caught:
        atomic_write(home / "trust.json", b"new")
    assert caught.value.path == str(home / "trust.json") and "link" in str(caught.value)
    assert outside.read_bytes() == b"keep" and (home / "trust.json").is_symlink()
    assert [n for n in os.listdir(home) if is_temp_name(n)] == []


def test_a_linked_folder_below_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "plugins").symlink_to(outside)
    with pytest.raises(StateError, match="plugins is a symbolic link"):
        atomic_write(home / "plugins" / "x.pepperplugin", b"data", root=home)
    assert list(outside.iterdir()) == []


def test_creates_nothing_outside_its_root(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(StateError, match="outside"):
        atomic_write(tmp_path / "elsewhere" / "deep" / "x", b"data", root=home)
    assert not (tmp_path / "elsewhere").exists()
    atomic_write(home / "a" / "b" / "x", b"data", root=home)
    assert (home / "a" / "b" / "x").read_bytes() == b"data"


def test_a_folder_at_the_target_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "state.json").mkdir()
    with pytest.raises(StateError, match=r"state\.json is a folder"):
        atomic_write(tmp_path / "state.json", b"{}")


def test_staging_keeps_temp_files_out_of_the_published_folder(tmp_path: Path) -> None:
    served = tmp_path / "repo" / "metadata"
    seen: list[list[str]] = []
    os.environ["PEPPERPY_CRASH_LOG"] = str(tmp_path / "log")
    try:
        atomic_write(served / "timestamp.json", b"{}", root=tmp_path / "repo",
                     staging=tmp_path / "repo" / ".staging")
        seen.append(os.listdir(served))
    finally:
        del os.environ["PEPPERPY_CRASH_LOG"]
    assert seen == [["timestamp.json"]]
    log = (tmp_path / "log").read_text()
    assert "create" in log and "replace" in log


def test_a_failed_write_names_the_target_and_removes_its_temp_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from pepperpy.fsio import atomic_write\n"
        "from pepperpy.core import StateError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n"
        "    atomic_write(Path(sys.argv[1]), b'x' * 5000)\n"
        "except StateError as exc:\n"
        "    print(exc)\n"
    )
    target = tmp_path / "big.bin"
    target.write_bytes(b"old")
    out = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith(f"{target} could not be written (File too large)"), out
    assert ".tmp" not in out
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["big.bin"]


def test_state_is_fsynced_file_and_folder_and_a_cache_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """State (installed bundles, records, the trust store) survives a power cut: the
    file and its folder are fsynced. A cache (``write_cache``: the verified cache, the
    listing cache) is replaced as atomically but not fsynced: lost, it is rebuilt."""
    from pepperpy.fsio import write_cache

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    atomic_write(tmp_path / "state.json", b"{}", root=tmp_path)
    assert len(synced) == 2
    synced.clear()
    assert write_cache(tmp_path / "cache.json", b"{}")
    assert (tmp_path / "cache.json").read_bytes() == b"{}" and synced == []
    assert sorted(os.listdir(tmp_path)) == ["cache.json", "cache.json.lock", "state.json"]
