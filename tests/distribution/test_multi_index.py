"""Several indexes: one down or hostile never blocks another; the operator's order
decides a provider slot; search names the index and counts versions once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _installed(home: Path) -> dict[str, str]:
    state = json.loads((home / "installed.json").read_bytes())
    return {name: rec["version"] for name, rec in state["plugins"].items()}


@pytest.fixture
def second(tmp_path: Path, publisher: Publisher) -> Iterator[tuple[Path, Path, IndexServer]]:
    """A second index (its own folder and TUF key) serving the same publisher's bundles."""
    from pepperpy.bundle.keys import generate_key

    key = generate_key(publisher="index2", out_dir=tmp_path / "keys2").private_path
    folder = tmp_path / "repo2"
    assert run("repo", "init", folder, "--key", key) == 0
    srv = IndexServer(folder)
    yield folder, key, srv
    srv.close()


def _two_indexes(publisher: Publisher, server: IndexServer, second, first: list[Path],
                 other: list[Path]) -> None:
    folder, key, srv = second
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, *first, "--key", publisher.repo_key) == 0
    assert run("repo", "add", folder, *other, "--key", key) == 0
    assert run("index", "add", "a", server.url, "--root", publisher.root) == 0
    assert run("index", "add", "b", srv.url, "--root", folder / "metadata" / "1.root.json") == 0


def test_one_index_down_another_installs(publisher: Publisher, server: IndexServer, second,
                                         home: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    _two_indexes(publisher, server, second, [publisher.bundle("sample", "1.0.0")],
                 [publisher.bundle("other", "1.0.0")])
    port = server.url.rsplit(":", 1)[1]
    server.close()
    capsys.readouterr()
    assert run("plugin", "install", "other") == 0
    err = capsys.readouterr().err
    assert f"skipping index 'a': index 'a' cannot be reached at 127.0.0.1:{port}: " \
           "connection refused; check that the index's server is running" in err
    assert "Max retries" not in err and "urllib3" not in err
    assert _installed(home) == {"other": "1.0.0"}
    assert run("plugin", "install", "sample") == 1  # only the down index has it
    assert "index 'a' could not be read" in capsys.readouterr().err


def test_a_hostile_index_never_blocks_another(publisher: Publisher, server: IndexServer,
                                              second, home: Path) -> None:
    _two_indexes(publisher, server, second, [publisher.bundle("sample", "1.0.0")],
                 [publisher.bundle("other", "1.0.0")])
    server.state.overrides["/metadata/timestamp.json"] = b'{"signed": "forged"}'
    assert run("plugin", "install", "other") == 0
    assert _installed(home) == {"other": "1.0.0"}


def test_the_operators_order_decides_a_slot(publisher: Publisher, server: IndexServer,
                                            second, home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    old = publisher.bundle("sample", "1.0.0")
    _two_indexes(publisher, server, second, [old], [old, publisher.bundle("sample", "2.0.0")])
    capsys.readouterr()
    assert run("plugin", "search", "sample", "--refresh") == 0
    out = capsys.readouterr().out
    assert "sample 1.0.0 [llm/sample] from index a (1 version(s))" in out
    assert "also listed by index b (not used: a comes first" in out
    assert run("plugin", "search", "sample", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["index"], r["version"], r["used"]) for r in rows) == [
        ("a", "1.0.0", True), ("b", "1.0.0", False), ("b", "2.0.0", False)]
    assert run("plugin", "install", "sample") == 0  # a higher version elsewhere: not taken
    assert _installed(home) == {"sample": "1.0.0"}
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run("index", "order", "b") == 0
    assert "index order: b > a" in capsys.readouterr().out
    assert run("index", "list", "--json") == 0
    assert [i["name"] for i in json.loads(capsys.readouterr().out)] == ["b", "a"]
    assert run("plugin", "search", "sample") == 0
    assert "sample 2.0.0 [llm/sample] from index b (2 version(s))" in capsys.readouterr().out
    assert run("plugin", "update", "sample") == 0
    assert _installed(home) == {"sample": "2.0.0"}
    assert run("index", "order", "nope") == 1


def test_search_and_outdated_use_fresh_cached_metadata_when_the_index_is_down(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.1.0"),
               "--key", publisher.repo_key) == 0
    assert run("plugin", "search", "--refresh") == 0  # the cache now knows 1.1.0
    server.close()
    capsys.readouterr()
    assert run("plugin", "outdated") == 0
    done = capsys.readouterr()
    assert "sample 1.0.0 -> 1.1.0 (index main)" in done.out
    assert "index 'main' is unreachable; showing its offers from the last refresh " \
           "(metadata valid until 20" in done.err
    assert run("plugin", "search", "--refresh") == 0
    done = capsys.readouterr()
    assert "sample 1.1.0" in done.out and "is unreachable" in done.err
    assert run("plugin", "install", "sample") == 1  # nothing is installed from a cache
    assert capsys.readouterr().err.count("\n") <= 3
