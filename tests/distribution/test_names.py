"""Every command that takes an installed plugin takes the names `plugin install` took:
the plugin name or the provider name; a wrong name suggests the closest one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _setup(publisher: Publisher, server: IndexServer) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    bundle = publisher.bundle("llm_acme_provider", "1.0.0", provider_name="acme")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "acme") == 0


def test_provider_names_work_in_update_outdated_deps_inspect_remove(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _setup(publisher, server)
    bundle = publisher.bundle("llm_acme_provider", "1.1.0", provider_name="acme")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    capsys.readouterr()
    assert run("plugin", "outdated", "acme", "--json", "--index", "main") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["llm_acme_provider"]
    assert run("plugin", "update", "acme") == 0
    assert "llm_acme_provider 1.1.0" in capsys.readouterr().out
    assert run("plugin", "deps", "acme") == 0
    assert "llm_acme_provider: dependencies satisfied" in capsys.readouterr().out
    assert run("plugin", "inspect", "acme", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "verified" and report["manifest"]["version"] == "1.1.0"
    assert run("plugin", "remove", "acme") == 0
    assert "removed llm_acme_provider 1.1.0" in capsys.readouterr().out


@pytest.mark.parametrize("command", [("update",), ("outdated",), ("deps",), ("remove",),
                                     ("inspect",)])
def test_a_near_miss_suggests_the_installed_name(
        command: tuple[str, ...], publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _setup(publisher, server)
    capsys.readouterr()
    assert run("plugin", *command, "acmee") == 1
    err = capsys.readouterr().err
    assert "'acmee' is not installed (did you mean 'acme'?): no installed plugin or " \
           "provider has that name" in err
    assert err.count("\n") == 1


def test_install_and_with_llm_suggest_the_closest_name(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy import PepperPy
    from pepperpy.core import PluginNotFoundError

    _setup(publisher, server)
    capsys.readouterr()
    assert run("plugin", "install", "acmy") == 1
    assert "(did you mean 'acme'?)" in capsys.readouterr().err
    with pytest.raises(PluginNotFoundError, match=r"did you mean 'acme'\?"):
        PepperPy().with_llm("acm")


def test_removing_what_is_not_installed_says_so_and_how_to_see_what_is(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _setup(publisher, server)
    capsys.readouterr()
    assert run("plugin", "remove", "acmee") == 1
    err = capsys.readouterr().err
    assert err == ("pepperpy: error: 'acmee' is not installed (did you mean 'acme'?): no "
                   "installed plugin or provider has that name, so there is nothing to remove "
                   "(installed: llm_acme_provider); `pepperpy plugin list` shows what is "
                   "installed\n")
    assert run("plugin", "list") == 0
    assert "llm_acme_provider" in capsys.readouterr().out  # still installed, untouched


def test_several_targets_are_all_looked_up_before_the_first_installs(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy.plugins.state import load_state
    from pepperpy.settings import Settings

    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for name in ("acme", "bolt", "crux"):
        bundle = publisher.bundle(f"llm_{name}_provider", "1.0.0", provider_name=name)
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    capsys.readouterr()
    assert run("plugin", "install", "acme", "bolt", "--category", "llm") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out] == [["installed", "llm_acme_provider"],
                                                  ["installed", "llm_bolt_provider"]]
    assert run("plugin", "install", "crux", "crxu", "acme") == 1  # every name first
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed as done
    assert "'crxu'" in captured.err and "(did you mean 'crux'?)" in captured.err
    assert captured.err.rstrip().endswith("; nothing was installed"), captured.err
    installed = load_state(Settings.from_env().state_file).plugins
    assert sorted(installed) == ["llm_acme_provider", "llm_bolt_provider"]  # no crux
    bundle = publisher.bundles / "llm_crux_provider-1.0.0.pepperplugin"
    assert run("plugin", "install", str(bundle), str(bundle) + ".missing") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "no such bundle file; nothing was installed" in captured.err
    assert "llm_crux_provider" not in load_state(Settings.from_env().state_file).plugins
    assert run("plugin", "install", "crux", str(bundle), "--category", "llm") == 0


def test_a_suggestion_compares_what_differs_not_the_shared_parts(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for name in ("local", "openai"):
        bundle = publisher.bundle(f"llm_{name}_provider", "1.0.0", provider_name=name)
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    assert run("plugin", "install", "local", "openai") == 0
    capsys.readouterr()
    assert run("plugin", "remove", "llm_opneai_provider") == 1  # a typo: the right guess
    assert "(did you mean 'llm_openai_provider'?)" in capsys.readouterr().err
    assert run("plugin", "remove", "llm_openai_provider") == 0
    capsys.readouterr()
    assert run("plugin", "remove", "llm_openai_provider") == 1  # removed: no look-alike
    err = capsys.readouterr().err
    assert "'llm_openai_provider' is not installed: no installed plugin" in err
    assert "did you mean" not in err
    assert run("plugin", "install", "llm_opneai_provider") == 1  # the index's names too
    assert "(did you mean 'llm_openai_provider'?)" in capsys.readouterr().err
    assert run("plugin", "install", "llm_anthropic_provider") == 1
    assert "did you mean" not in capsys.readouterr().err


def test_install_prints_the_path_in_one_form_by_name_and_by_file(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    _setup(publisher, server)
    by_name = capsys.readouterr().out.splitlines()[-1]
    bundle = publisher.bundle("llm_acme_provider", "1.1.0", provider_name="acme")
    assert run("plugin", "install", bundle) == 0
    by_file = capsys.readouterr().out.splitlines()[0]
    assert by_name.startswith("installed llm_acme_provider 1.0.0 from index main -> ")
    assert by_file.startswith("upgraded llm_acme_provider 1.1.0 (was 1.0.0) -> ")
    paths = {line.split(" -> ", 1)[1].split(" (key ", 1)[0] for line in (by_name, by_file)}
    assert paths == {str(home / "plugins" / "llm_acme_provider.pepperplugin")}  # unquoted
