"""Install by name receives the bundle into an unnamed file in the plugin folder and
names it only once verified (``pepperpy.plugins.incoming``).

Every refused download leaves the plugin folder as it was (the unnamed file vanishes);
nothing else can open the file while it is checked; a link planted where the bundle or
the plugin folder goes is refused, never followed; two installs at once both finish.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError, StateError


def _sample(publisher: Publisher, version: str, readme: bytes = b"A" * 200) -> bytes:
    f = publisher.factory
    return f.build(f.files(  # type: ignore[attr-defined,no-any-return]
        manifest={"name": "sample", "version": version, "provider_name": "sample",
                  "entry_point": "sample_pkg:Provider"}, extra={"README.md": readme}))


def _publish(publisher: Publisher, version: str, readme: bytes = b"A" * 200) -> None:
    bundle = publisher.bundles / f"sample-{version}.pepperplugin"
    bundle.write_bytes(_sample(publisher, version, readme))
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0


@pytest.fixture
def added(publisher: Publisher, server: IndexServer, home: Path) -> Publisher:
    """Index ``main`` offering sample 1.0.0 (a README of 200 "A"s), added."""
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    _publish(publisher, "1.0.0")
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    return publisher


def _session() -> Any:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    return Session(Settings.from_env())


def _bundle(publisher: Publisher, version: str = "1.0.0") -> tuple[str, bytes]:
    data = (publisher.bundles / f"sample-{version}.pepperplugin").read_bytes()
    return (f"/targets/{hashlib.sha256(data).hexdigest()}.sample-{version}.pepperplugin",
            data)


def _named(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_the_installed_bundle_is_the_index_bundle_and_nothing_else_is_left(
        added: Publisher, home: Path) -> None:
    outcome = _session().install("sample")
    assert outcome.action == "installed"
    installed = home / "plugins" / "sample.pepperplugin"
    assert installed.read_bytes() == _bundle(added)[1]
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert _named(home / "plugins") == ["sample.pepperplugin"]


def test_the_incoming_file_has_no_name_until_it_is_named(home: Path) -> None:
    """While it is received and checked, no other process can open the file: it has no
    name in any folder (no link count), and it is private (0600)."""
    from pepperpy.plugins.incoming import Incoming
    from pepperpy.settings import Settings

    settings = Settings.from_env()
    target = settings.plugins_dir / "x.pepperplugin"
    incoming = Incoming.open(settings, 3_000_000, target)
    assert incoming is not None, "this system has unnamed files: the fast path must be used"
    try:
        body = os.urandom(3_000_000)
        incoming.write(memoryview(body))
        incoming.received()
        st = os.fstat(incoming.fd)
        assert st.st_nlink == 0 and stat.S_IMODE(st.st_mode) == 0o600
        assert _named(settings.plugins_dir) == []
        assert incoming.digest("sha256") == hashlib.sha256(body).hexdigest()
        incoming.name(target)
        assert target.read_bytes() == body and stat.S_IMODE(target.stat().st_mode) == 0o644
        assert _named(settings.plugins_dir) == ["x.pepperplugin"]
    finally:
        incoming.close()


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize("attack, threat", [
    ("tampered", "arbitrary-package"),  # same length, one byte changed in transit
    ("short", "arbitrary-package"),
    ("long", "endless-data"),
    ("signed-other", "arbitrary-package"),  # trusted signature, not the listed bytes
])
@pytest.mark.parametrize("path", ["quick", "full"])
def test_a_refused_download_leaves_the_plugin_folder_as_it_was(
        added: Publisher, server: IndexServer, home: Path, attack: str, threat: str,
        path: str) -> None:
    """Refused on the quick refresh (the plain downloader) and on ngclient's (the index
    changed since it was added): the unnamed file vanishes, no bundle and no temporary
    file appear, and the installed version (1.0.0) stays."""
    assert _session().install("sample").action == "installed"
    before = (home / "plugins" / "sample.pepperplugin").read_bytes()
    url, data = _bundle(added)
    if path == "full":  # publish 2.0.0 (the index changed: ngclient's full refresh)
        _publish(added, "2.0.0")
        url, data = _bundle(added, "2.0.0")
    else:  # the same index, 1.0.0 removed locally so it is fetched again
        assert run("plugin", "remove", "sample") == 0
        before = b""
    if attack == "tampered":
        server.state.overrides[url] = _flip(data)
    elif attack == "short":
        server.state.overrides[url] = data[:-1000]
    elif attack == "long":
        server.state.extra[url] = 5_000_000
    else:
        other = _sample(added, "2.0.0" if path == "full" else "1.0.0", b"B" * 200)
        assert len(other) == len(data) and other != data
        server.state.overrides[url] = other
    session = _session()
    with pytest.raises(IndexRefusedError) as info:
        session.install("sample")
    assert info.value.threat == threat  # type: ignore[attr-defined]
    assert (session.client("main").unchanged is not None) == (path == "quick")
    assert _named(home / "plugins") == (["sample.pepperplugin"] if before else [])
    if before:
        assert (home / "plugins" / "sample.pepperplugin").read_bytes() == before


def test_a_link_planted_at_the_bundle_is_refused_and_not_followed(
        added: Publisher, home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"keep")
    (home / "plugins").mkdir()
    (home / "plugins" / "sample.pepperplugin").symlink_to(outside)
    with pytest.raises(StateError, match="symbolic link"):
        _session().install("sample")
    assert outside.read_bytes() == b"keep"
    assert _named(home / "plugins") == ["sample.pepperplugin"]  # the link, untouched


def test_a_linked_plugin_folder_is_refused_before_anything_is_received(
        added: Publisher, home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "plugins").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StateError, match="not a folder"):
        _session().install("sample")
    assert _named(elsewhere) == []


def test_a_full_disk_while_receiving_names_the_bundle_and_leaves_nothing(
        added: Publisher, home: Path) -> None:
    """A file-size limit on the process (EFBIG, as ENOSPC would be): the error names the
    installed bundle's path, never a temporary file, and the folder stays empty."""
    import resource

    _publish(added, "2.0.0", os.urandom(400_000))
    limit = len(_bundle(added, "2.0.0")[1]) // 2  # the metadata fits, the bundle does not

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "pepperpy", "plugin", "install", "sample"],
                          env=dict(os.environ), capture_output=True, text=True, timeout=120,
                          preexec_fn=cap)
    lines = [x for x in done.stderr.splitlines() if x.startswith("pepperpy: error")]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert str(home / "plugins" / "sample.pepperplugin") in lines[0], lines[0]
    assert "File too large" in lines[0] and ".tmp" not in lines[0], lines[0]
    assert _named(home / "plugins") == []


def test_two_installs_at_once_both_finish(added: Publisher, home: Path) -> None:
    """Each receives into its own unnamed file; the install lock orders the naming: one
    installs, the other finds the same bundle installed."""
    argv = [sys.executable, "-m", "pepperpy", "plugin", "install", "sample"]
    children = [subprocess.Popen(argv, env=dict(os.environ), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == _bundle(added)[1]
    assert _named(home / "plugins") == ["sample.pepperplugin"]


def _watch_fsync(monkeypatch: pytest.MonkeyPatch, events: list[str], *,
                 fail: bool = False) -> None:
    """Log the bundle's fsync (the background one) and every link; it is slow (0.3 s),
    or fails with EIO (``fail``), so naming before it has finished would show."""
    import errno
    import threading
    import time

    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        if threading.current_thread().name == "pepperpy-fsync":
            time.sleep(0.3)
            if fail:
                raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)
            events.append("bundle fsynced")
            return
        real_fsync(fd)

    def link(*args: Any, **kw: Any) -> None:
        events.append("linked")
        real_link(*args, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)


def test_the_bundle_is_durable_before_it_gets_a_name(
        added: Publisher, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    _watch_fsync(monkeypatch, events)
    assert _session().install("sample").action == "installed"
    assert events == ["bundle fsynced", "linked"]


def test_a_failed_fsync_of_the_bundle_installs_nothing(
        added: Publisher, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    _watch_fsync(monkeypatch, events, fail=True)
    with pytest.raises(StateError, match="Input/output error") as info:
        _session().install("sample")
    assert str(home / "plugins" / "sample.pepperplugin") in str(info.value)
    assert events == [] and _named(home / "plugins") == []
    from pepperpy.plugins.state import load_state
    from pepperpy.settings import Settings

    state = load_state(Settings.from_env().state_file)
    assert state.plugins == {} and state.pending == {}


@pytest.mark.parametrize("path", ["quick", "full"])
def test_without_unnamed_files_the_bundle_is_verified_in_memory(
        added: Publisher, home: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """A system without ``O_TMPFILE`` (or ``/proc``): the bundle is received into
    memory, verified there and written by the transaction; the same checks refuse a
    tampered download, and nothing is left."""
    import pepperpy.plugins.incoming as incoming

    monkeypatch.setattr(incoming, "unnamed_file", lambda folder, root: None)
    data = _bundle(added)[1]
    if path == "full":
        _publish(added, "2.0.0")
        data = _bundle(added, "2.0.0")[1]
    outcome = _session().install("sample")
    assert outcome.action == "installed"
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == data
    assert _named(home / "plugins") == ["sample.pepperplugin"]


def test_without_unnamed_files_a_tampered_download_is_refused(
        added: Publisher, server: IndexServer, home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pepperpy.plugins.incoming as incoming

    monkeypatch.setattr(incoming, "unnamed_file", lambda folder, root: None)
    url, data = _bundle(added)
    server.state.overrides[url] = _flip(data)
    with pytest.raises(IndexRefusedError) as info:
        _session().install("sample")
    assert info.value.threat == "arbitrary-package"  # type: ignore[attr-defined]
    assert _named(home / "plugins") == []


@pytest.mark.parametrize("receive", ["unnamed", "in-memory"])
@pytest.mark.parametrize("path", ["quick", "full"])
def test_a_refused_first_install_leaves_no_plugin_folder_behind(
        added: Publisher, server: IndexServer, home: Path, monkeypatch: pytest.MonkeyPatch,
        path: str, receive: str) -> None:
    """The first install into a home with no plugin folder, refused (a tampered
    download): the folder made to receive it is gone again, and nothing else under the
    home changed (the quick path; the full one also refreshes the index's metadata). A
    folder that was there before a refusal stays, as it was."""
    if receive == "in-memory":
        import pepperpy.plugins.incoming as incoming

        monkeypatch.setattr(incoming, "unnamed_file", lambda folder, root: None)
    url, data = _bundle(added)
    if path == "full":
        _publish(added, "2.0.0")
        url, data = _bundle(added, "2.0.0")
    server.state.overrides[url] = _flip(data)
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    with pytest.raises(IndexRefusedError, match="sample"):
        _session().install("sample")
    assert not os.path.lexists(home / "plugins")
    if path == "quick":
        assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
    (home / "plugins").mkdir(mode=0o750)
    with pytest.raises(IndexRefusedError):
        _session().install("sample")
    assert _named(home / "plugins") == []
    assert stat.S_IMODE((home / "plugins").stat().st_mode) == 0o750
