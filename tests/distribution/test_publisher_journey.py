"""A publisher's release cycle as an operator meets it through an index: every fix a
refusal names is a command that works as printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _serve(publisher: Publisher, server: IndexServer, *bundles: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for bundle in bundles:
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def _fix(err: str) -> list[str]:
    """The first backquoted ``pepperpy ...`` command of an error, as argv."""
    start = err.index("`pepperpy ") + len("`pepperpy ")
    return err[start:err.index("`", start)].split()


def test_a_new_key_s_release_from_an_index_names_a_transfer_that_works(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy_testing.bundles import BundleFactory

    _serve(publisher, server, publisher.bundle("sample", "1.0.0"))
    assert run("plugin", "install", "sample") == 0
    rotated = BundleFactory(publisher="acme")  # the publisher's new signing key
    rotated.trust(home)
    fields = {"name": "sample", "version": "2.0.0", "provider_name": "sample",
              "entry_point": "sample_pkg:Provider"}
    bundle = publisher.bundles / "sample-2.0.0.pepperplugin"
    bundle.write_bytes(rotated.build(rotated.files(manifest=fields)))
    _, pub = rotated.write_keys(tmp_path / "rotated")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key,
               "--publisher-key", pub) == 0
    capsys.readouterr()

    assert run("plugin", "update", "sample") == 1
    err = capsys.readouterr().err
    fix = _fix(err)
    assert fix == ["plugin", "install", "sample==2.0.0", "--transfer-owner"], err
    assert run(*fix) == 0
    assert "upgraded sample 2.0.0" in capsys.readouterr().out


def test_an_installed_bundle_of_a_revoked_key_is_removed_by_name_not_deleted(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _serve(publisher, server, publisher.bundle("sample", "1.0.0"))
    assert run("plugin", "install", "sample") == 0
    key_id = publisher.factory.key.key_id  # type: ignore[attr-defined]
    assert run("trust", "revoke", key_id) == 0
    capsys.readouterr()
    assert run("plugin", "doctor") == 1
    out = capsys.readouterr().out
    assert "fix: pepperpy plugin remove sample\n" in out, out  # a deleted file keeps its record
    assert run("plugin", "remove", "sample") == 0
    assert json.loads((home / "installed.json").read_bytes())["plugins"] == {}
    assert run("plugin", "doctor") == 0


def test_an_index_add_that_cannot_connect_points_at_the_url_given(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    _serve(publisher, server)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    capsys.readouterr()
    assert run("index", "add", "other", url, "--root", publisher.root) == 1
    err = capsys.readouterr().err
    assert f"the URL given ({url}), then run `pepperpy index add` again; nothing was added" in err
    assert "index list" not in err  # which would not show it
    assert run("index", "list") == 0
    assert "other" not in capsys.readouterr().out


def test_index_add_says_which_publisher_keys_this_machine_already_trusts(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("sample", "1.0.0"))  # home trusts the key
    out = capsys.readouterr().out
    assert "signs sample (in your trust store)\n" in out, out
    assert "installs need their keys" not in out
    assert run("trust", "revoke", publisher.factory.key.key_id) == 0  # type: ignore[attr-defined]
    assert run("index", "remove", "main") == 0
    capsys.readouterr()
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert "signs sample (revoked in your trust store)\n" in capsys.readouterr().out


def test_remove_says_the_plugin_s_dependencies_stay_installed(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("sample", "1.0.0", dependencies=["packaging>=20"]))
    assert run("plugin", "install", "sample") == 0  # packaging is installed: recorded, kept
    capsys.readouterr()
    assert run("plugin", "remove", "sample") == 0
    out = capsys.readouterr().out
    assert out == ("removed sample 1.0.0\n  its dependencies stay installed in this Python "
                   "(packaging>=20); uninstall them with `uv pip uninstall` if nothing else "
                   "uses them\n")


def test_an_older_version_by_name_is_refused_before_it_is_downloaded(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("sample", "1.0.0"),
           publisher.bundle("sample", "2.0.0"))
    assert run("plugin", "install", "sample") == 0
    server.state.requests.clear()
    capsys.readouterr()
    assert run("plugin", "install", "sample==1.0.0") == 1
    assert "older than the installed 2.0.0 (rollback protection)" in capsys.readouterr().err
    assert not [p for p in server.state.requests if p.endswith(".pepperplugin")]
    assert run("plugin", "install", "sample==1.0.0", "--allow-downgrade") == 0
    assert [p for p in server.state.requests if p.endswith("sample-1.0.0.pepperplugin")]


def test_search_counts_the_yanked_versions_apart(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("sample", "1.0.0"),
           publisher.bundle("sample", "2.0.0"))
    assert run("repo", "yank", publisher.folder, "sample==2.0.0", "--key", publisher.repo_key,
               "--reason", "broken") == 0
    capsys.readouterr()
    assert run("plugin", "search", "--refresh") == 0
    assert ("sample 1.0.0 [llm/sample] from index main (2 version(s), 1 yanked)"
            in capsys.readouterr().out)


def test_trust_add_says_when_only_was_not_applied_or_a_restriction_was_lifted(
        publisher: Publisher, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy_testing.bundles import BundleFactory

    _, pub = BundleFactory(publisher="acme").write_keys(tmp_path / "new")
    assert run("trust", "add", pub, "--only", "sample") == 0
    assert "note" not in capsys.readouterr().out  # a new key: restricted as asked
    assert run("trust", "add", pub, "--scope", "sample") == 0
    out = capsys.readouterr().out
    assert "note: its restriction to sample is lifted: it is now trusted for every plugin" in out
    assert run("trust", "add", pub, "--only", "sample") == 0
    out = capsys.readouterr().out
    assert "note: --only was not applied: the key was already trusted for every plugin" in out
    assert run("trust", "list") == 0
    assert "only=" not in capsys.readouterr().out  # what the notes said
