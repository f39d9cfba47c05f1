"""Attacks on the quick index refresh and its plain downloader, from the index's side.

A mirror, a CDN or anyone on the path of an ``http://`` index controls every byte the
client receives, but holds no signing key. Each test here is one thing such a server
can do: the quick path must never say "unchanged" where the full TUF workflow would
refuse, must never read what the fetcher ngclient uses would not, and every failure
must still reach the user as the ``PepperpyError`` the full workflow gives.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import IndexRefusedError, IndexUnavailableError, PepperpyError


def _session() -> Any:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    return Session(Settings.from_env())


def _added(publisher: Publisher, url: str) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", url, "--root", publisher.root) == 0


class _Relay:
    """A server in front of the index (a CDN, a mirror, a man in the middle): it
    redirects every request to the index, except the paths in ``answers``, which get
    the raw HTTP answer given there."""

    def __init__(self, origin: str) -> None:
        relay = self
        self.answers: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.observe: Callable[[str], None] = lambda path: None

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                relay.requests.append(self.path)
                relay.observe(self.path)
                raw = relay.answers.get(self.path)
                if raw is not None:
                    self.wfile.write(raw)
                    self.close_connection = True
                    return
                self.send_response(302)
                self.send_header("Location", f"{origin}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def redirect(self, path: str, location: str) -> None:
        self.answers[path] = (f"HTTP/1.1 302 Found\r\nLocation: {location}\r\n"
                              "Content-Length: 0\r\n\r\n").encode("latin-1")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def relay(server: IndexServer) -> Iterator[_Relay]:
    front = _Relay(server.url)
    yield front
    front.close()


def _bundle_path(publisher: Publisher) -> str:
    import hashlib

    data = (publisher.bundles / "sample-1.0.0.pepperplugin").read_bytes()
    return f"/targets/{hashlib.sha256(data).hexdigest()}.sample-1.0.0.pepperplugin"


# -- freeze: an expiry the quick check reads differently from TUF ---------------------

def _eastern_arabic(raw: bytes) -> bytes:
    """The same metadata with the year of its ``expires`` in Arabic-Indic digits. TUF
    parses that to the same time and checks the signature over its canonical ASCII
    form, so the signature still verifies: no key is needed for this rewrite."""
    data = json.loads(raw)
    expires = data["signed"]["expires"]
    foreign = "".join(chr(0x660 + int(c)) for c in expires[:4]) + expires[4:]
    out = raw.replace(f'"{expires}"'.encode(), json.dumps(foreign, ensure_ascii=False).encode())
    assert out != raw
    return out


def test_an_expiry_in_other_digits_is_still_a_freeze(publisher: Publisher, server: IndexServer,
                                                    home: Path) -> None:
    """ngclient refuses an expired timestamp, however its digits are written; the quick
    check compared the text and saw an expiry in Arabic-Indic digits as never passing,
    so a mirror could hold every client on old metadata until the root expired."""
    from tuf.api.metadata import Metadata

    _added(publisher, server.url)
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key,
               "--expires", "timestamp=3s") == 0
    served = _eastern_arabic((publisher.folder / "metadata" / "timestamp.json").read_bytes())
    Metadata.from_bytes(served)  # TUF reads it
    server.state.overrides["/metadata/timestamp.json"] = served
    session = _session()
    session.offers()  # the new timestamp, verified by ngclient and recorded
    assert session.client("main").unchanged is None
    local = home / "indexes" / "main" / "metadata" / "timestamp.json"
    assert local.read_bytes() == served
    time.sleep(3.5)
    with pytest.raises(IndexRefusedError) as info:
        _session().offers()
    assert info.value.threat == "freeze"  # type: ignore[attr-defined]


def test_the_quick_expiry_reads_as_tuf_reads() -> None:
    from datetime import UTC, datetime

    from pepperpy.distribution.unchanged import _expired

    now = datetime.now(UTC)
    arabic, fullwidth, devanagari = ("".join(chr(base + int(c)) for c in "2020")
                                     for base in (0x660, 0xFF10, 0x966))
    for text in ("2020-01-01T00:00:00Z", f"{arabic}-01-01T00:00:00Z",
                 f"{fullwidth}-01-01T00:00:00Z", f"{devanagari}-01-01T00:00:00Z",
                 "2999-01-01T00:00:00Z", "2020-1-1T0:0:0Z", "2999-01-01t00:00:00z",
                 "3000-01-01T00:00:00", "", "junk"):
        try:
            tuf_expired = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC) <= now
        except ValueError:
            tuf_expired = True  # TUF cannot read it: the full workflow refuses it
        # the quick check may step aside more often than TUF refuses, never less often
        assert _expired(text) or not tuf_expired, text


# -- redirects: only where the fetcher ngclient uses would follow --------------------

def test_a_redirect_to_a_local_file_is_not_followed(tmp_path: Path) -> None:
    """urllib3 follows a redirect to http(s) only; the plain downloader read any local
    file an index redirected it to (a file-existence probe for the index's operator)."""
    from tuf.api.exceptions import DownloadError

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import answer

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"private")
    front = _Relay("http://127.0.0.1:9")
    try:
        front.redirect("/a", secret.as_uri())
        front.redirect("/b", (tmp_path / "absent").as_uri())
        for path in ("/a", "/b"):
            with pytest.raises(DownloadError, match="file"):
                answer(f"{front.url}{path}", 1000, FetchLimits(connect=2, gap=2, total=5))
    finally:
        front.close()


def test_a_redirect_to_the_local_timestamp_is_not_unchanged(
        publisher: Publisher, relay: _Relay, home: Path) -> None:
    """The index redirects ``timestamp.json`` to the client's own copy: ngclient's
    fetcher will not follow it (the index is unreachable), so neither may the quick check
    call the index unchanged from it."""
    _added(publisher, relay.url)
    local = home / "indexes" / "main" / "metadata" / "timestamp.json"
    relay.redirect("/metadata/timestamp.json", local.as_uri())
    session = _session()
    with pytest.raises(IndexUnavailableError):
        session.offers()


def test_a_root_question_redirected_to_a_local_file_is_no_probe(
        publisher: Publisher, relay: _Relay, home: Path, tmp_path: Path) -> None:
    """Whether a local file exists must not change what the client asks next (the quick
    check went on to ``timestamp.json`` when it did not, to a full refresh when it did)."""
    import shutil

    _added(publisher, relay.url)
    folder = home / "indexes" / "main"
    shutil.copytree(folder, tmp_path / "before", symlinks=True)
    (tmp_path / "exists").write_bytes(b"x")
    seen = []
    for target in (tmp_path / "absent", tmp_path / "exists"):
        shutil.rmtree(folder)
        shutil.copytree(tmp_path / "before", folder, symlinks=True)  # the record too
        relay.redirect("/metadata/2.root.json", target.as_uri())
        relay.requests.clear()
        with pytest.raises(IndexUnavailableError):
            _session().offers()
        seen.append(list(relay.requests))
    assert seen[0] == seen[1]


# -- a hostile answer is a PepperpyError, never a traceback ---------------------------

HOSTILE = {
    "superscript-length": b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nxx",
    "port-out-of-range": b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:99999/x\r\n\r\n",
    "port-not-a-number": b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:x/y\r\n\r\n",
    "open-ipv6-bracket": b"HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\n\r\n",
    "long-idna-label": b"HTTP/1.1 302 Found\r\nLocation: http://\xe9" + b"a" * 70
                       + b".example/x\r\n\r\n",
    "nul-in-file-path": b"HTTP/1.1 302 Found\r\nLocation: file:///tmp/a%00b\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_answer_is_a_download_error(name: str) -> None:
    from tuf.api.exceptions import DownloadError

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.download import download

    front = _Relay("http://127.0.0.1:9")
    front.answers["/t"] = HOSTILE[name]
    try:
        with pytest.raises(DownloadError):
            download(f"{front.url}/t", 1000, FetchLimits(connect=2, gap=2, total=5))
    finally:
        front.close()


def test_a_hostile_bundle_answer_fails_install_cleanly(
        publisher: Publisher, relay: _Relay, home: Path) -> None:
    _added(publisher, relay.url)
    relay.answers[_bundle_path(publisher)] = HOSTILE["superscript-length"]
    session = _session()
    with pytest.raises(PepperpyError):
        session.install("sample")
    assert session.client("main").unchanged is not None
    assert not (home / "plugins" / "sample.pepperplugin").exists()


def test_a_repeated_header_that_frames_nothing_is_accepted(
        publisher: Publisher, relay: _Relay, home: Path, server: IndexServer) -> None:
    """Two ``Set-Cookie`` lines (CDNs send them) are no reason to refuse a bundle that
    urllib3 downloads; only a repeated framing header with two values is."""
    _added(publisher, relay.url)
    body = (publisher.folder / _bundle_path(publisher).lstrip("/")).read_bytes()
    relay.answers[_bundle_path(publisher)] = (
        f"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    session = _session()
    outcome = session.install("sample")
    assert session.client("main").unchanged is not None
    assert outcome.action == "installed"
    assert (home / "plugins" / "sample.pepperplugin").read_bytes() == body


# -- every refresh under the store's lock ---------------------------------------------

def test_index_mirror_refreshes_only_under_the_store_lock(
        publisher: Publisher, relay: _Relay, home: Path, tmp_path: Path) -> None:
    """``index mirror`` downloads through ngclient's Updater. After a quick refresh there
    was none refreshed, and the one it made refreshed itself on first use, writing into
    the metadata cache without the lock another process's refresh holds."""
    import fcntl
    import os

    _added(publisher, relay.url)
    lock = home / "indexes" / ".lock"
    unlocked: list[str] = []

    def observe(path: str) -> None:
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            unlocked.append(path)  # nobody held it: this request was made without it
        except BlockingIOError:
            pass
        finally:
            os.close(fd)

    relay.observe = observe
    assert run("index", "mirror", "main", tmp_path / "mirror") == 0
    metadata = [p for p in relay.requests if p.startswith("/metadata/")]
    assert metadata and unlocked == [p for p in unlocked if not p.startswith("/metadata/")]
    assert (tmp_path / "mirror" / "metadata" / "timestamp.json").read_bytes() == (
        home / "indexes" / "main" / "metadata" / "timestamp.json").read_bytes()
    assert (home / "indexes" / "main" / "metadata-verified.json").is_file()
