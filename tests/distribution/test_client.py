"""``pepperpy index`` and install/search/update/outdated by name, against a loopback index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run

from pepperpy.core import (
    ConfigurationError,
    IndexUnavailableError,
    PluginNotFoundError,
    ValidationError,
)


def _publish(publisher: Publisher, *bundles: Path) -> None:
    if not publisher.root.exists():
        assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    if bundles:
        assert run("repo", "add", publisher.folder, *bundles, "--key", publisher.repo_key) == 0


def _installed(home: Path) -> dict[str, str]:
    state = json.loads((home / "installed.json").read_bytes())
    return {name: rec["version"] for name, rec in state["plugins"].items()}


def test_install_by_name_then_again_does_nothing(publisher: Publisher, server: IndexServer,
                                                 home: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    _publish(publisher, publisher.bundle("sample", "1.0.0"), publisher.bundle("sample", "1.1.0"))
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    assert list(system_tmp.iterdir()) == []  # nothing written outside PEPPERPY_HOME
    assert _installed(home) == {"sample": "1.1.0"}
    assert (home / "plugins" / "sample.pepperplugin").is_file()
    server.state.requests.clear()
    assert run("plugin", "install", "sample") == 0
    assert not [r for r in server.state.requests if r.startswith("/targets/")]
    installed_copy = home / "plugins" / "sample.pepperplugin"
    installed_copy.write_bytes(b"damaged")
    assert run("plugin", "install", "sample") == 0  # fetched again: the copy is repaired
    assert installed_copy.read_bytes() == (publisher.bundles / "sample-1.1.0.pepperplugin"
                                           ).read_bytes()
    assert run("plugin", "install", "sample==1.0.0") == 1  # rollback protection holds
    assert run("plugin", "install", "sample==1.0.0", "--allow-downgrade") == 0
    assert _installed(home) == {"sample": "1.0.0"}
    assert list((home / "indexes" / "spool").iterdir()) == []  # temporary files removed


def test_update_and_outdated_pick_up_a_new_version(publisher: Publisher, server: IndexServer,
                                                   home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _publish(publisher, publisher.bundle("sample", "1.0.0"))
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    _publish(publisher, publisher.bundle("sample", "2.0.0"))
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "sample", "installed": "1.0.0", "latest": "2.0.0", "index": "main",
         "yanked": False, "yanked_reason": "", "fix": ""}]
    assert run("plugin", "update") == 0
    assert _installed(home) == {"sample": "2.0.0"}
    capsys.readouterr()
    assert run("plugin", "outdated", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_provider_name_plugin_name_and_ambiguity(publisher: Publisher, server: IndexServer,
                                                 home: Path) -> None:
    from pepperpy.distribution.fetch import Session
    from pepperpy.settings import Settings

    _publish(publisher,
             publisher.bundle("llm_acme", "1.0.0", provider_name="acme", category="llm"),
             publisher.bundle("emb_acme", "1.0.0", provider_name="acme", category="embeddings"),
             publisher.bundle("other", "1.0.0", pepperpy_compatibility=">=99"))
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    session = Session(Settings.from_env())
    with pytest.raises(ValidationError, match="several plugins"):
        session.install("acme")
    with pytest.raises(PluginNotFoundError, match="no version in the index is usable"):
        session.install("other")
    with pytest.raises(PluginNotFoundError, match="no index offers"):
        session.install("nothing")
    with pytest.raises(ValidationError, match="NAME==VERSION"):
        session.install("bad name")
    assert session.install("acme", category="embeddings").offer.name == "emb_acme"
    assert session.install("llm_acme").action == "installed"
    assert _installed(home) == {"emb_acme": "1.0.0", "llm_acme": "1.0.0"}


def test_search_reads_the_last_refresh_without_the_network(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _publish(publisher, publisher.bundle("sample", "1.0.0", description="Say hello"),
             publisher.bundle("other", "1.0.0"))
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    server.state.requests.clear()
    capsys.readouterr()
    assert run("plugin", "search", "hello", "--json") == 0
    assert [o["name"] for o in json.loads(capsys.readouterr().out)] == ["sample"]
    assert server.state.requests == []
    assert run("plugin", "search", "--refresh") == 0
    assert server.state.requests == ["/metadata/2.root.json", "/metadata/timestamp.json"]
    out = capsys.readouterr().out
    assert "other 1.0.0" in out and "sample 1.0.0" in out


def test_index_list_and_remove(publisher: Publisher, server: IndexServer, home: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    _publish(publisher)
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    # the same index again is a retry (it refreshes and succeeds); another URL is not
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("index", "add", "main", server.url + "/other", "--root", publisher.root) == 1
    assert "already exists with another URL or root" in capsys.readouterr().err
    assert run("index", "list", "--json") == 0
    assert [i["name"] for i in json.loads(capsys.readouterr().out)] == ["main"]
    assert run("index", "remove", "main") == 0
    assert not (home / "indexes" / "main").exists()
    assert run("index", "remove", "main") == 1
    assert run("plugin", "install", "sample") == 1  # no index configured


@pytest.mark.parametrize("case", ["unreachable", "not-an-index", "not-a-root", "bad-url"])
def test_index_add_bad_input_records_nothing(case: str, publisher: Publisher,
                                             server: IndexServer, home: Path,
                                             tmp_path: Path) -> None:
    from pepperpy.distribution.fetch import add_index
    from pepperpy.settings import Settings

    _publish(publisher)
    url, root, error = server.url, publisher.root, IndexUnavailableError
    if case == "unreachable":
        url = "http://127.0.0.1:9"  # discard port: nothing listens
    elif case == "not-an-index":
        url = f"{server.url}/targets"
    elif case == "not-a-root":
        root, error = tmp_path / "root.json", ValidationError
        root.write_text(json.dumps({"signed": {"_type": "targets"}, "signatures": []}))
    else:
        url, error = "ftp://example.org/index", ValidationError
    with pytest.raises(error):
        add_index(Settings.from_env(), "main", url, root)
    indexes = home / "indexes"
    leftovers = {p.name for p in indexes.iterdir()} if indexes.exists() else set()
    assert leftovers <= {".lock", "spool"}
    assert not (indexes / "spool").exists() or list((indexes / "spool").iterdir()) == []
    with pytest.raises(ConfigurationError):
        from pepperpy.distribution.store import IndexStore

        IndexStore(Settings.from_env()).get("main")


def test_trust_publishers_imports_the_keys_the_index_names(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _publish(publisher, publisher.bundle("sample", "1.0.0"))
    fresh = tmp_path / "fresh-home"
    monkeypatch.setenv("PEPPERPY_HOME", str(fresh))  # trusts nobody
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    out = capsys.readouterr().out
    assert "(not in your trust store)" in out
    assert "`pepperpy index trust main` adds them after showing each" in out
    assert run("plugin", "install", "sample") == 1
    assert run("index", "remove", "main") == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root,
               "--trust-publishers") == 0
    key_id = publisher.factory.key.key_id  # type: ignore[attr-defined]
    assert f"trusting publisher 'acme' key {key_id}" in capsys.readouterr().err
    assert run("plugin", "install", "sample") == 0
    # The key is trusted for what the index listed it for, not for everything.
    from pepperpy.bundle.trust import TrustStore

    (record,) = TrustStore(fresh / "trust.json").list()
    assert record.only == ("sample@llm/sample",)  # the name and the provider slot it listed
    other = publisher.bundle("intruder", "1.0.0")
    assert run("plugin", "install", str(other)) == 1
    assert "trusted only for sample@llm/sample" in capsys.readouterr().err


def test_mirror_serves_as_a_file_url(publisher: Publisher, server: IndexServer, home: Path,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(publisher, publisher.bundle("sample", "1.0.0"))
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    mirror = tmp_path / "mirror"
    assert run("index", "mirror", "main", mirror) == 0
    server.close()  # the mirror must stand alone
    monkeypatch.setenv("PEPPERPY_HOME", str(tmp_path / "air-gapped"))
    publisher.factory.trust(tmp_path / "air-gapped")  # type: ignore[attr-defined]
    assert run("index", "add", "local", mirror.as_uri(), "--root", publisher.root) == 0
    assert run("plugin", "install", "sample") == 0
    assert _installed(tmp_path / "air-gapped") == {"sample": "1.0.0"}


def test_index_trust_widens_a_scoped_key_to_a_new_plugin_after_asking(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy.bundle.trust import TrustStore

    _publish(publisher, publisher.bundle("sample", "1.0.0"))
    fresh = tmp_path / "fresh-home"
    monkeypatch.setenv("PEPPERPY_HOME", str(fresh))
    assert run("index", "add", "main", server.url, "--root", publisher.root,
               "--trust-publishers") == 0
    monkeypatch.setenv("PEPPERPY_HOME", str(home))  # the publisher ships another plugin
    _publish(publisher, publisher.bundle("later", "1.0.0"))
    monkeypatch.setenv("PEPPERPY_HOME", str(fresh))
    assert run("plugin", "install", "later") == 1  # the key is scoped to `sample`
    capsys.readouterr()
    assert run("index", "trust", "main") == 1  # not a terminal, no --yes: nothing changes
    done = capsys.readouterr()
    assert "widen key" in done.out and "later@llm/later" in done.out
    assert "run again with --yes" in done.err
    (record,) = TrustStore(fresh / "trust.json").list()
    assert record.only == ("sample@llm/sample",)
    assert run("index", "trust", "main", "--yes") == 0
    (record,) = TrustStore(fresh / "trust.json").list()
    assert record.only == ("later@llm/later", "sample@llm/sample")
    assert run("plugin", "install", "later") == 0
    capsys.readouterr()
    assert run("index", "trust", "main") == 0
    assert "nothing to add" in capsys.readouterr().out
