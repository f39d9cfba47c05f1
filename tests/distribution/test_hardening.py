"""Fixes from a security review of the distribution code: each test tries the attack."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.index_server import IndexServer, Publisher, run


def _within(seconds: float, call: Any) -> Any:
    """Run ``call`` in a daemon thread; fail (instead of hanging) if it is still running
    after ``seconds``. Returns what it returned or the exception it raised."""
    outcome: dict[str, Any] = {}

    def go() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (hang)"
    return outcome.get("error", outcome.get("value"))


def test_headers_trickled_one_byte_at_a_time_hit_the_deadline(server: IndexServer) -> None:
    from tuf.api.exceptions import SlowRetrievalError

    from pepperpy.distribution.config import FetchLimits
    from pepperpy.distribution.fetcher import IndexFetcher

    (server.folder / "metadata").mkdir(parents=True, exist_ok=True)
    server.state.trickle_headers = "timestamp.json"
    limits = FetchLimits(connect=0.5, gap=0.5, total=1.0)
    fetcher = IndexFetcher(limits=limits)
    started = time.monotonic()
    result = _within(3 * limits.total + 1,
                     lambda: fetcher.download_bytes(f"{server.url}/metadata/timestamp.json",
                                                    1000))
    assert isinstance(result, SlowRetrievalError), result
    assert "too slowly" in str(result)
    assert time.monotonic() - started < 3 * limits.total + 1


def _published(publisher: Publisher, *names: str) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for name in names:
        assert run("repo", "add", publisher.folder, publisher.bundle(name, "1.0.0"),
                   "--key", publisher.repo_key) == 0


def test_a_fifo_in_a_file_mirror_is_refused_without_blocking(publisher: Publisher,
                                                            home: Path) -> None:
    import os

    from pepperpy.core import IndexUnavailableError
    from pepperpy.distribution.fetch import add_index
    from pepperpy.settings import Settings

    _published(publisher, "sample")
    timestamp = publisher.folder / "metadata" / "timestamp.json"
    timestamp.unlink()
    os.mkfifo(timestamp)  # nobody ever writes: a plain open() blocks forever
    result = _within(10, lambda: add_index(Settings.from_env(), "main",
                                           f"file://{publisher.folder}", publisher.root))
    assert isinstance(result, IndexUnavailableError), result
    assert "not a regular file" in str(result)
    assert run("index", "list") == 0
    assert not (home / "indexes" / "main").exists()


def test_repo_add_refuses_a_name_the_signing_key_is_not_trusted_for(
        publisher: Publisher, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.core import InstallRefusedError
    from pepperpy_dev.repository import Repository

    _published(publisher)
    store = TrustStore(home / "trust.json")
    key = publisher.factory.key.public_key  # type: ignore[attr-defined]
    store.remove(key.key_id)
    store.add(key.pem(), publisher="acme", only=("foo",))
    before = {p.name: p.read_bytes() for p in (publisher.folder / "metadata").iterdir()}

    assert run("repo", "add", publisher.folder, publisher.bundle("openai", "1.0.0"),
               "--key", publisher.repo_key) == 1
    err = capsys.readouterr().err
    assert "'openai' (llm/openai) is signed by key" in err and "trusted only for foo" in err
    assert {p.name: p.read_bytes() for p in (publisher.folder / "metadata").iterdir()} \
        == before
    assert list((publisher.folder / "targets").iterdir()) == []
    with pytest.raises(InstallRefusedError):
        Repository(publisher.folder).add([publisher.bundle("openai", "1.0.0")],
                                         signers=[], trust=store.snapshot())
    # the name it is trusted for still publishes
    assert run("repo", "add", publisher.folder, publisher.bundle("foo", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert list(Repository(publisher.folder).offered()) == ["foo-1.0.0.pepperplugin"]


@pytest.mark.parametrize(("corrupt", "command"), [
    ("timestamp.json", "refresh"), ("1.snapshot.json", "refresh"),
    ("1.targets.json", "add"), ("timestamp.json", "add"),
])
def test_corrupt_repository_metadata_is_a_one_line_error(
        publisher: Publisher, home: Path, capsys: pytest.CaptureFixture[str],
        corrupt: str, command: str) -> None:
    _published(publisher)
    (publisher.folder / "metadata" / corrupt).write_bytes(b'{"signed": 3')
    capsys.readouterr()
    argv: list[object] = ["repo", command, publisher.folder]
    if command == "add":
        argv.append(publisher.bundle("sample", "1.0.0"))
    assert run(*argv, "--key", publisher.repo_key) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{corrupt} is corrupt" in err and "restore it from a backup" in err


def test_trust_publishers_refusing_a_key_records_no_index(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The index operator names the publisher key with a name the trust store refuses.
    keys = publisher.folder.parent / "named"
    keys.mkdir()
    pub = keys / "acme\tcorp.pub"  # a tab: not printable
    pub.write_bytes(publisher.factory.key.public_key.pem())  # type: ignore[attr-defined]
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key, "--publisher-key", pub) == 0
    trust_before = (home / "trust.json").read_bytes()
    capsys.readouterr()

    assert run("index", "add", "main", server.url, "--root", publisher.root,
               "--trust-publishers") == 1
    err = capsys.readouterr().err
    assert "cannot be trusted" in err and "must be 1-100 printable characters" in err
    assert run("index", "list", "--json") == 0
    assert '"main"' not in capsys.readouterr().out
    assert not (home / "indexes" / "main").exists()
    assert (home / "trust.json").read_bytes() == trust_before
    # without the flag the same index is added (nothing was half-recorded before)
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def test_mirror_replaces_a_corrupt_bundle_of_the_right_size(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path) -> None:
    _published(publisher, "sample")
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    mirror = tmp_path / "mirror"
    assert run("index", "mirror", "main", mirror) == 0
    (copy,) = (mirror / "targets").iterdir()
    good = copy.read_bytes()
    copy.write_bytes(bytes(b ^ 0xFF for b in good[:64]) + good[64:])  # same size
    assert run("index", "mirror", "main", mirror) == 0
    assert copy.read_bytes() == good


@pytest.mark.parametrize("name", ["indexes.json", "spool"])
def test_index_names_of_the_stores_own_files_are_refused(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    _published(publisher, "sample")
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    store_file = home / "indexes" / "indexes.json"
    before = store_file.read_bytes()
    capsys.readouterr()
    assert run("index", "add", name, server.url, "--root", publisher.root) == 1
    err = capsys.readouterr().err
    assert f"index name {name!r} is reserved" in err
    assert store_file.is_file() and store_file.read_bytes() == before
    assert run("index", "list") == 0


def test_an_unparseable_url_is_a_one_line_error(
        publisher: Publisher, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _published(publisher)
    assert run("index", "add", "x", "http://[bad", "--root", publisher.root) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an index URL" in err
