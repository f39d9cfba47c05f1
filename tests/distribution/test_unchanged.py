"""A refresh that proves an index unchanged without ngclient, and every way it must not.

Each attack runs against a real loopback index: the quick check must step aside (the
full TUF workflow then decides, with its own error), never list offers from files or
answers it has not matched byte for byte against what ngclient verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError, PepperpyError, StateError

TUF_CLIENT = ("tuf.ngclient", "tuf.api.metadata", "securesystemslib", "urllib3")


def _session() -> Any:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    return Session(Settings.from_env())


def _refresh() -> Any:
    """One session's refresh of index ``main``: its client, whether the quick check
    answered (``unchanged``), and the offers."""
    from types import SimpleNamespace

    session = _session()
    offers = session.offers()
    client = session.client("main")
    return SimpleNamespace(client=client, unchanged=client.unchanged, offers=offers)


def _added(publisher: Publisher, server: IndexServer, *versions: str) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for version in versions:
        assert run("repo", "add", publisher.folder, publisher.bundle("sample", version),
                   "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


@pytest.fixture
def added(publisher: Publisher, server: IndexServer, home: Path) -> Publisher:
    """Index ``main`` added (a full refresh: the record written), offering sample 1.0.0."""
    _added(publisher, server, "1.0.0")
    assert (home / "indexes" / "main" / "metadata-verified.json").is_file()
    return publisher


def _signed(publisher: Publisher, raw: bytes, edit: Callable[[Any], None]) -> bytes:
    from tuf.api.metadata import Metadata

    from pepperpy_dev.signer import load_signer

    md = Metadata.from_bytes(raw)
    edit(md.signed)
    md.signatures.clear()
    md.sign(load_signer(publisher.repo_key))
    return md.to_bytes()


def _meta(folder: Path, name: str) -> bytes:
    return (folder / "metadata" / name).read_bytes()


def _bundle_url(publisher: Publisher, version: str = "1.0.0") -> str:
    data = (publisher.bundles / f"sample-{version}.pepperplugin").read_bytes()
    return f"/targets/{hashlib.sha256(data).hexdigest()}.sample-{version}.pepperplugin"


# -- the quick path, end to end ------------------------------------------------------

PROBE = """
import contextlib, io, json, sys
from pepperpy.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({argv!r})
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def _cli(argv: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)],
                          capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_install_by_name_and_a_no_change_update_never_load_the_tuf_client(
        added: Publisher, server: IndexServer, home: Path) -> None:
    server.state.requests.clear()
    install = _cli(["plugin", "install", "sample"])
    assert install["code"] == 0
    assert server.state.requests == ["/metadata/2.root.json", "/metadata/timestamp.json",
                                     _bundle_url(added)]
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == (
        added.bundles / "sample-1.0.0.pepperplugin").read_bytes()
    server.state.requests.clear()
    update = _cli(["plugin", "update"])
    assert update["code"] == 0
    assert server.state.requests == ["/metadata/2.root.json", "/metadata/timestamp.json"]
    for probe in (install, update):
        loaded = [m for m in probe["modules"] if m.startswith(TUF_CLIENT)]
        assert loaded == []


def test_a_quick_refresh_lists_what_the_full_one_listed(added: Publisher, home: Path) -> None:
    catalog = home / "indexes" / "main" / "catalog.json"
    full = json.loads(catalog.read_bytes())["offers"]
    after = _refresh()
    assert after.unchanged is not None and after.client._updater is None
    assert json.loads(catalog.read_bytes())["offers"] == full
    assert [o.as_dict() for o in after.offers] == full
    info = after.client.confirm(next(o for o in after.offers if o.name == "sample"))
    assert (info.length, info.hashes["sha256"]) == (full[0]["length"], full[0]["sha256"])


# -- each doubt sends the refresh down the full TUF workflow --------------------------

def test_a_new_root_is_picked_up(added: Publisher, server: IndexServer, home: Path) -> None:
    server.state.overrides["/metadata/2.root.json"] = _signed(
        added, added.root.read_bytes(), lambda root: setattr(root, "version", 2))
    assert _refresh().unchanged is None
    assert (home / "indexes" / "main" / "metadata" / "root_history" / "2.root.json").is_file()
    assert _refresh().unchanged is not None  # recorded again, now at root version 2


def test_junk_for_the_next_root_is_refused_by_the_full_workflow(
        added: Publisher, server: IndexServer) -> None:
    server.state.overrides["/metadata/2.root.json"] = b"{}"
    session = _session()
    with pytest.raises(IndexRefusedError) as info:
        session.offers()
    assert info.value.threat == "invalid-metadata"  # type: ignore[attr-defined]


def test_an_unanswered_root_question_is_doubt(added: Publisher, server: IndexServer,
                                              home: Path) -> None:
    server.state.stall = "2.root.json"
    with pytest.raises(IndexRefusedError) as info:
        _session().offers()
    assert info.value.threat == "slow-retrieval"  # type: ignore[attr-defined]


@pytest.mark.parametrize("slow", ["2.root.json", "timestamp.json"])
def test_a_slow_index_is_waited_for_once_and_reported_as_the_full_workflow_does(
        added: Publisher, server: IndexServer, home: Path, slow: str) -> None:
    """A stall in the quick check fails closed at once with the full workflow's error
    (class, threat, words), where it used to fall back and wait the timeout again."""
    server.state.stall = slow
    server.state.requests.clear()
    with pytest.raises(IndexRefusedError) as quick:
        _session().offers()
    assert [p for p in server.state.requests if p.endswith(slow)] == [f"/metadata/{slow}"]
    (home / "indexes" / "main" / "metadata-verified.json").unlink()  # the full workflow
    server.state.requests.clear()
    with pytest.raises(IndexRefusedError) as full:
        _session().offers()
    assert [p for p in server.state.requests if p.endswith(slow)] == [f"/metadata/{slow}"]
    assert quick.value.threat == full.value.threat == "slow-retrieval"  # type: ignore[attr-defined]
    assert str(quick.value).split(" (")[0] == str(full.value).split(" (")[0]
    assert str(quick.value).split("]")[1] == str(full.value).split("]")[1]


def test_a_timestamp_re_signed_with_a_new_version_is_a_full_refresh(
        added: Publisher, server: IndexServer, home: Path) -> None:
    served = _signed(added, _meta(added.folder, "timestamp.json"),
                     lambda ts: setattr(ts, "version", ts.version + 1))
    server.state.overrides["/metadata/timestamp.json"] = served
    assert _refresh().unchanged is None
    assert _meta(home / "indexes" / "main", "timestamp.json") == served


def test_a_replayed_old_timestamp_is_refused_as_a_rollback(
        added: Publisher, server: IndexServer, home: Path) -> None:
    old = _meta(added.folder, "timestamp.json")
    assert run("repo", "add", added.folder, added.bundle("sample", "2.0.0"),
               "--key", added.repo_key) == 0
    assert _refresh().unchanged is None  # the client sees the new timestamp
    server.state.overrides["/metadata/timestamp.json"] = old
    with pytest.raises(IndexRefusedError) as info:
        _session().offers()
    assert info.value.threat == "rollback"  # type: ignore[attr-defined]


def test_the_same_bytes_expired_are_a_freeze(publisher: Publisher, server: IndexServer,
                                             home: Path) -> None:
    _added(publisher, server)
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key,
               "--expires", "timestamp=3s") == 0
    assert _refresh().unchanged is None  # new timestamp: full, recorded
    assert _refresh().unchanged is not None
    time.sleep(3.5)
    with pytest.raises(IndexRefusedError) as info:
        _session().offers()
    assert info.value.threat == "freeze"  # type: ignore[attr-defined]


def test_an_edited_local_targets_file_is_never_listed(added: Publisher, home: Path) -> None:
    path = home / "indexes" / "main" / "metadata" / "targets.json"
    data = json.loads(path.read_bytes())
    real = data["signed"]["targets"]["sample-1.0.0.pepperplugin"]["hashes"]["sha256"]
    data["signed"]["targets"]["sample-1.0.0.pepperplugin"]["hashes"]["sha256"] = "0" * 64
    path.write_bytes(json.dumps(data).encode())
    after = _refresh()
    assert after.unchanged is None
    assert [o.sha256 for o in after.offers] == [real]


@pytest.mark.parametrize("damage", ["truncated", "other-url", "other-root", "not-json",
                                    "link", "empty"])
def test_a_damaged_record_is_a_full_refresh(added: Publisher, home: Path,
                                            damage: str) -> None:
    folder = home / "indexes" / "main"
    record = folder / "metadata-verified.json"
    good = record.read_bytes()
    if damage == "truncated":
        record.write_bytes(good[: len(good) // 2])
    elif damage == "other-url":
        record.write_bytes(good.replace(b"/metadata/", b"/other/"))
    elif damage == "other-root":
        fields = json.loads(good)
        fields["pinned"] = "0" * 64
        record.write_bytes(json.dumps(fields).encode())
    elif damage == "not-json":
        record.write_bytes(b"\xff" * 100)
    elif damage == "link":
        (folder / "copy.json").write_bytes(good)
        record.unlink()
        record.symlink_to(folder / "copy.json")
    else:
        record.write_bytes(b"")
    assert _refresh().unchanged is None
    assert not record.is_symlink() and json.loads(record.read_bytes()) == json.loads(good)


def test_a_folder_in_place_of_the_record_is_local_damage(added: Publisher,
                                                         home: Path) -> None:
    record = home / "indexes" / "main" / "metadata-verified.json"
    record.unlink()
    record.mkdir()
    (record / "x").write_bytes(b"")
    with pytest.raises(StateError, match=r"metadata-verified\.json"):
        _session().offers()


def test_a_changed_pinned_root_is_a_full_refresh(added: Publisher, home: Path) -> None:
    pinned = home / "indexes" / "main" / "root.json"
    pinned.write_bytes(pinned.read_bytes() + b"\n")  # same root, other bytes
    assert _refresh().unchanged is None


def test_a_root_waiting_in_the_local_history_is_a_full_refresh(added: Publisher,
                                                               home: Path) -> None:
    history = home / "indexes" / "main" / "metadata" / "root_history"
    (history / "2.root.json").write_bytes(b"{}")  # ngclient would try it first
    assert _refresh().unchanged is None


def test_a_timestamp_longer_than_the_limit_is_refused(added: Publisher,
                                                      server: IndexServer) -> None:
    server.state.extra["/metadata/timestamp.json"] = 20_000
    with pytest.raises(IndexRefusedError) as info:
        _session().offers()
    assert info.value.threat == "endless-data"  # type: ignore[attr-defined]


def test_delegations_are_left_to_ngclient(added: Publisher, home: Path) -> None:
    """A verified targets role that delegates (as a record made after ngclient verified
    such a role would vouch for it): only ngclient walks delegations."""
    from pepperpy.distribution import unchanged
    from pepperpy.distribution.config import FetchLimits

    folder = home / "indexes" / "main"
    client = _refresh().client
    assert client.unchanged is not None
    path = folder / "metadata" / "targets.json"
    data = json.loads(path.read_bytes())
    data["signed"]["delegations"] = {"keys": {}, "roles": []}
    path.write_bytes(json.dumps(data).encode())
    pinned = (folder / "root.json").read_bytes()
    unchanged.remember(folder, client.config.metadata_url, pinned=pinned, root=home)
    assert unchanged.check(folder, client.config.metadata_url, FetchLimits(),
                           pinned=pinned) is None
    del data["signed"]["delegations"]
    path.write_bytes(json.dumps(data).encode())
    unchanged.remember(folder, client.config.metadata_url, pinned=pinned, root=home)
    assert unchanged.check(folder, client.config.metadata_url, FetchLimits(),
                           pinned=pinned) is not None


def test_a_crash_mid_refresh_leaves_no_record_for_the_new_files(
        added: Publisher, server: IndexServer, home: Path, tmp_path: Path) -> None:
    """Killed at each write of a full refresh: the record is gone before ngclient's
    first write and written again only after its last, so a refresh after the crash is
    a full one, and agrees with the index."""
    import shutil

    assert run("repo", "add", added.folder, added.bundle("sample", "2.0.0"),
               "--key", added.repo_key) == 0
    folder = home / "indexes" / "main"
    record = folder / "metadata-verified.json"
    shutil.copytree(folder, tmp_path / "before", symlinks=True)
    log = tmp_path / "crash.log"
    probe = "from pepperpy.cli import main; main(['plugin', 'search', '--refresh'])"
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                   env={**os.environ, "PEPPERPY_CRASH_LOG": str(log)})
    points = log.read_text().splitlines()
    assert points[0] == f"1 remove {record}"
    rewrite = next(i for i, p in enumerate(points) if i and "metadata-verified" in p)
    # killed before the removal (nothing changed), then at each point up to the new
    # record's first write: ngclient has written, the old record is gone
    for at in range(1, rewrite + 2):
        shutil.rmtree(folder)
        shutil.copytree(tmp_path / "before", folder, symlinks=True)
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                              env={**os.environ, "PEPPERPY_CRASH_AT": str(at)})
        assert done.returncode == -9
        assert record.exists() == (at == 1)
        after = _refresh()
        assert after.unchanged is None
        assert sorted(o.version for o in after.offers) == ["1.0.0", "2.0.0"]
        assert record.is_file()


# -- the quick path's own downloads keep the fetcher's limits -------------------------

def _install_refused(home: Path, threat: str) -> PepperpyError:
    session = _session()
    with pytest.raises(IndexRefusedError) as info:
        session.install("sample")
    assert session.client("main").unchanged is not None
    assert info.value.threat == threat  # type: ignore[attr-defined]
    assert not (home / "plugins" / "sample.pepperplugin").exists()
    return info.value


def test_endless_data_for_a_bundle(added: Publisher, server: IndexServer, home: Path) -> None:
    server.state.extra[_bundle_url(added)] = 5_000_000
    _install_refused(home, "endless-data")


def test_a_short_bundle(added: Publisher, server: IndexServer, home: Path) -> None:
    data = (added.bundles / "sample-1.0.0.pepperplugin").read_bytes()
    server.state.overrides[_bundle_url(added)] = data[:-1]
    _install_refused(home, "arbitrary-package")


@pytest.mark.parametrize("how", ["stall", "trickle", "trickle_headers"])
def test_slow_retrieval_of_a_bundle(added: Publisher, server: IndexServer, home: Path,
                                    monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    import threading

    monkeypatch.setenv("PEPPERPY_INDEX_TIMEOUT", "0.5")  # gap 0.5 s, whole transfer 6 s
    setattr(server.state, how, ".pepperplugin")
    outcome: dict[str, Any] = {}

    def install() -> None:  # in a thread: a missing deadline fails the test, never hangs it
        try:
            _install_refused(home, "slow-retrieval")
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=install, daemon=True)
    thread.start()
    thread.join(15)
    assert not thread.is_alive(), "still downloading after 15 s: no deadline"
    assert "error" not in outcome, outcome


def test_a_redirect_is_followed(added: Publisher, server: IndexServer) -> None:
    import http.server
    import threading

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import download

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"{server.url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    cdn = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{cdn.server_port}/metadata/timestamp.json"
        assert download(url, 16_384, FetchLimits()) == _meta(added.folder, "timestamp.json")
    finally:
        cdn.shutdown()
        cdn.server_close()


def test_an_unreachable_index_says_so(added: Publisher, server: IndexServer,
                                      home: Path) -> None:
    from pepperpy.core import IndexUnavailableError

    server.close()
    with pytest.raises(IndexUnavailableError, match="connection refused"):
        _session().offers()


def _raw_server(answer: bytes, *, trickle: bool = False) -> Any:
    """A loopback server that answers every connection with ``answer``, then closes
    (with ``trickle``: then sends one byte every 0.2 s, for up to 20 s)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(answer)
                for _ in range(100 if trickle else 0):
                    time.sleep(0.2)
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize(("answer", "error", "words"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "DownloadError",
     "closed after 5 of 10 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     "DownloadError", "'chunked' body"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
     "DownloadError", "repeated header"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "DownloadError", "did not answer in HTTP"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20_000, "DownloadError", "bytes of headers"),
    (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 2_000, "DownloadLengthMismatchError",
     "more than the 1000 bytes"),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "DownloadHTTPError", "HTTP 404"),
])
def test_the_plain_downloader_refuses_what_it_cannot_frame(answer: bytes, error: str,
                                                           words: str) -> None:
    from tuf.api import exceptions

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import download

    listener = _raw_server(answer)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/metadata/timestamp.json"
        with pytest.raises(getattr(exceptions, error), match=words):
            download(url, 1000, FetchLimits(connect=2, gap=2, total=5))
    finally:
        listener.close()


def test_the_plain_downloader_reads_a_body_until_the_connection_closes() -> None:
    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import answer

    listener = _raw_server(b"HTTP/1.0 200 OK\n\n" + b"x" * 999)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/a"
        assert answer(url, 1000, FetchLimits()) == (200, b"x" * 999)
    finally:
        listener.close()


@pytest.mark.parametrize("into", [False, True], ids=["memory", "into"])
def test_a_declared_body_trickling_in_hits_the_deadline(into: bool) -> None:
    """Content-Length within the limit (received straight into its buffer, or handed
    piece by piece to a writer: install by name), then one byte every 0.2 s: never
    silent for the gap timeout, stopped by the deadline."""
    import threading

    from tuf.api.exceptions import SlowRetrievalError

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import download

    listener = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\nxx", trickle=True)
    outcome: dict[str, Any] = {}

    def fetch() -> None:
        try:
            download(f"http://127.0.0.1:{listener.getsockname()[1]}/t", 1000,
                     FetchLimits(connect=0.5, gap=0.5, total=1.0),
                     write=(lambda piece: None) if into else None)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(10)
    listener.close()
    assert not thread.is_alive(), "still downloading after 10 s: no deadline"
    assert isinstance(outcome.get("error"), SlowRetrievalError), outcome
    assert "too slowly" in str(outcome["error"])


def test_a_declared_body_arrives_whole() -> None:
    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import download

    body = os.urandom(3_000_000)
    listener = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + body)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/t"
        assert download(url, 3_000_000, FetchLimits()) == body
        pieces: list[bytes] = []
        assert download(url, 3_000_000, FetchLimits(),
                        write=lambda piece: pieces.append(bytes(piece))) == b""
        assert b"".join(pieces) == body and max(map(len, pieces)) <= 1 << 20
        with pytest.raises(Exception, match="more than the 2999999 bytes"):
            download(url, 2_999_999, FetchLimits())
    finally:
        listener.close()


def test_a_file_index_takes_the_quick_path_too(publisher: Publisher, home: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", f"file://{publisher.folder}", "--root",
               publisher.root) == 0
    session = _session()
    assert session.install("sample").action == "installed"
    client = session.client("main")
    assert client.unchanged is not None
    assert [u.rsplit("/", 1)[-1] for u in client.requests] == [
        "2.root.json", "timestamp.json", _bundle_url(publisher).rsplit("/", 1)[-1]]
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == (
        publisher.bundles / "sample-1.0.0.pepperplugin").read_bytes()
