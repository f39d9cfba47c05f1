"""What an operator meets after a command fails or only reads: the message says what
state the machine is in, and the filesystem is left as the command found it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _serve(publisher: Publisher, server: IndexServer, *bundles: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for bundle in bundles:
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def _no_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv may look only in an empty folder: a dependency cannot be installed."""
    (tmp_path / "no-wheels").mkdir()
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")
    monkeypatch.setenv("PEPPERPY_FIND_LINKS", str(tmp_path / "no-wheels"))


@pytest.mark.parametrize("by", ["file", "name"])
def test_an_install_whose_dependencies_fail_says_the_bundle_went_in_and_both_ways_on(
        by: str, publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = publisher.bundle("sample", "1.0.0", dependencies=["pepperpy-surely-absent>=5"])
    _serve(publisher, server, bundle)
    _no_wheels(tmp_path, monkeypatch)
    capsys.readouterr()
    assert run("plugin", "install", bundle if by == "file" else "sample") == 1
    err = capsys.readouterr().err
    installed = home / "plugins" / "sample.pepperplugin"
    assert f"the bundle is installed (sample 1.0.0 -> {installed}) but its dependencies are " \
        "not, so it will not load until they are: " in err, err
    assert "pepperpy-surely-absent" in err and "pepperpy plugin deps sample" in err
    assert err.rstrip().endswith("take the bundle out again with "
                                 "`pepperpy plugin remove sample`"), err
    assert json.loads((home / "installed.json").read_bytes())["plugins"]["sample"]
    assert installed.is_file()  # what the message says is true
    assert run("plugin", "deps", "sample") == 1  # the cause is not fixed yet
    assert run("plugin", "remove", "sample") == 0  # the other way on works as printed
    assert not installed.exists()


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("home_exists", [True, False])
def test_a_failed_index_add_in_a_fresh_home_leaves_nothing(
        home_exists: bool, publisher: Publisher, server: IndexServer, home: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    if not home_exists:
        home = tmp_path / "fresh" / "home"
        monkeypatch.setenv("PEPPERPY_HOME", str(home))
    before = _tree(tmp_path)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert run("index", "add", "main", url, "--root", publisher.root) == 1
    assert "nothing was added" in capsys.readouterr().err
    assert _tree(tmp_path) == before
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0  # then works
    assert (home / "indexes" / "indexes.json").is_file()


def test_a_failed_index_add_keeps_a_store_that_was_there(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server)
    assert run("index", "add", "other", server.url + "/nothing", "--root",
               publisher.root) == 1
    assert (home / "indexes" / ".lock").is_file()  # an existing store keeps its lock
    assert run("index", "list") == 0
    assert "main" in capsys.readouterr().out


def test_repo_commands_leave_no_lock_file_in_the_folder_served(
        publisher: Publisher, server: IndexServer, home: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundles / "missing.pepperplugin",
               "--key", publisher.repo_key) == 1
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key) == 0
    assert not (publisher.folder / ".pepperpy-repo.lock").exists()
    assert ".pepperpy-repo.lock" not in _tree(publisher.folder)


def test_a_category_where_a_plugin_name_belongs_is_called_one(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("weather_acme", "1.0.0", category="weather",
                                               provider_name="acme"))
    assert run("plugin", "install", "weather_acme") == 0
    capsys.readouterr()
    assert run("plugin", "update", "weather") == 1
    err = capsys.readouterr().err
    assert ("'weather' is a category, not a plugin: give one of its installed plugins by "
            "name: weather_acme (provider acme)") in err, err
    assert "plugin install weather" not in err
    assert run("plugin", "update", "weather_acme") == 0  # the name it gives works
    assert run("plugin", "deps", "documents") == 1
    err = capsys.readouterr().err
    assert ("'documents' is a category, not a plugin, and no plugin of it is installed; "
            "`pepperpy plugin search documents` lists") in err, err
    assert run("plugin", "search", "documents") == 0  # the command it names runs
    assert run("plugin", "update", "weathr") == 1  # not a category: the usual guess
    assert "did you mean 'weather_acme'" in capsys.readouterr().err


def test_outdated_says_a_newer_version_is_signed_by_a_key_this_machine_does_not_trust(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy_testing.bundles import BundleFactory

    _serve(publisher, server, publisher.bundle("sample", "1.0.0"))
    assert run("plugin", "install", "sample") == 0
    rotated = BundleFactory(publisher="acme")  # a key this home does not trust
    fields = {"name": "sample", "version": "1.0.1", "provider_name": "sample",
              "entry_point": "sample_pkg:Provider"}
    bundle = publisher.bundles / "sample-1.0.1.pepperplugin"
    bundle.write_bytes(rotated.build(rotated.files(manifest=fields)))
    _, pub = rotated.write_keys(tmp_path / "rotated")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key,
               "--publisher-key", pub) == 0
    capsys.readouterr()
    assert run("plugin", "outdated") == 0
    out = capsys.readouterr().out
    key = rotated.key.key_id[:16]  # type: ignore[attr-defined]
    said = (f"1.0.1 is signed by key {key} (acme), which this machine does not trust: "
            "`pepperpy index trust main` shows the key and trusts it, or `pepperpy trust "
            "add PUBFILE` with the .pub its publisher gave you")
    assert out == f"sample 1.0.0 -> 1.0.1 (index main)\n    note: {said}\n", out
    assert run("repo", "yank", publisher.folder, "sample==1.0.0", "--key", publisher.repo_key,
               "--reason", "broken") == 0
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["yanked"] and row["fix"] == said  # not `plugin update sample`, which fails
    assert run("index", "trust", "main", "--yes") == 0  # the command it names
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["fix"] == "pepperpy plugin update sample"
    assert run("trust", "revoke", rotated.key.key_id) == 0  # type: ignore[attr-defined]
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["fix"] == (
        f"1.0.1 is signed by key {key} (acme), which your trust store revoked, so it "
        "cannot be installed; `pepperpy plugin remove sample`, or keep it knowingly")


def test_index_add_with_a_damaged_trust_store_adds_nothing_and_says_nothing_was_done(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    good = (home / "trust.json").read_bytes()
    (home / "trust.json").write_bytes(good[: len(good) // 2])  # cut short
    before = _tree(home)
    capsys.readouterr()
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 1
    said = capsys.readouterr()
    assert said.out == ""  # nothing printed as done
    assert "trust store" in said.err and "trust.json.bak" in said.err, said.err
    assert _tree(home) == before  # no index, no lock, no folder
    assert server.state.requests == []  # refused before the index was even asked
    (home / "trust.json").write_bytes(good)
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    out = capsys.readouterr().out
    assert out.startswith("added index main") and "(in your trust store)" in out, out


@pytest.mark.parametrize("others", [False, True], ids=["first-index", "beside-another"])
def test_index_add_whose_trust_write_fails_takes_the_index_out_again(
        others: bool, publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    assert run("repo", "add", publisher.folder, publisher.bundle("sample", "1.0.0"),
               "--key", publisher.repo_key) == 0
    if others:
        assert run("index", "add", "other", server.url, "--root", publisher.root) == 0
    trust = (home / "trust.json").read_bytes()
    lock = home / "trust.json.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(home / "nowhere")  # readable store, but no write can take its lock
    before = _tree(home)
    capsys.readouterr()
    assert run("index", "add", "main", server.url, "--root", publisher.root,
               "--trust-publishers") == 1
    said = capsys.readouterr()
    assert "added index" not in said.out, said.out
    assert "lock file" in said.err and "nothing was added (index 'main' was taken out " \
        "again)" in said.err, said.err
    assert _tree(home) == before
    assert (home / "trust.json").read_bytes() == trust
    assert run("index", "list") == 0
    assert "main" not in capsys.readouterr().out
    lock.unlink()
    assert run("index", "add", "main", server.url, "--root", publisher.root,
               "--trust-publishers") == 0  # the same command, once the store is writable



def test_a_category_only_an_index_offers_gets_the_category_hint(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("weather_acme", "1.0.0", category="weather",
                                               provider_name="acme"))
    capsys.readouterr()
    for command in ("update", "deps", "outdated", "remove"):
        assert run("plugin", command, "weather") == 1
        err = capsys.readouterr().err
        assert ("'weather' is a category, not a plugin, and no plugin of it is installed "
                "(your indexes offer weather_acme (provider acme)); `pepperpy plugin search "
                "weather` lists the ones your indexes offer, and `pepperpy plugin install "
                "NAME --category weather` installs one") in err, (command, err)
        assert "plugin install weather`" not in err, err
    assert run("plugin", "install", "weather") == 1
    err = capsys.readouterr().err
    assert ("'weather' is a category, not a plugin: your indexes offer weather_acme "
            "(provider acme); install one by name (`pepperpy plugin install weather_acme`)"
            ) in err, err
    assert run("plugin", "search", "weather") == 0  # every command named runs
    assert "weather_acme 1.0.0 [weather/acme]" in capsys.readouterr().out
    assert run("plugin", "install", "acme", "--category", "weather") == 0
    assert run("plugin", "remove", "weather_acme") == 0
    assert run("plugin", "install", "weather_acme") == 0
    assert run("plugin", "update", "weathr") == 1  # a typo is still a typo
    assert "did you mean 'weather_acme'" in capsys.readouterr().err
