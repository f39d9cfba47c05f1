"""The provider slot (``category/provider_name``) is the unit of ownership, rollback and
fallback: a name-only key is pinned to its plugin's slot, and a slot an installed plugin
owns is never served by a bundle of another name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy.bundle.trust import TrustStore
from pepperpy.core import InstallRefusedError, PluginLoadError
from pepperpy.plugins.install import install_bundle


def _install(env, data: bytes, filename: str = "b.pepperplugin") -> None:
    install_bundle(env.write(env.tmp / "downloads", filename, data), settings=env.settings)


def _files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes()
            for p in sorted(home.rglob("*")) if p.is_file() and p.suffix != ".lock"
            and "cache" not in p.parts and p.name != "verified.json"}


def test_a_name_only_key_is_pinned_to_the_slot_of_its_first_install(env):
    """`trust add --only vendor_llm`: vendor_llm's first install pins the key to its slot;
    a later vendor_llm claiming `llm/openai` is refused at install (nothing changes on
    disk) and at load (it never serves `with_llm("openai")`)."""
    pub = env.publisher("vendor", trusted=False)
    store = TrustStore(env.settings.trust_file)
    store.add(pub.pub_pem(), publisher="vendor", only=("vendor_llm",))
    _install(env, env.bundle(pub, name="vendor_llm", provider_name="vendor", tag="v1"))
    assert store.snapshot().get(pub.key_id).only == ("vendor_llm@llm/vendor",)
    grab = env.bundle(pub, name="vendor_llm", provider_name="openai", version="1.1.0",
                      tag="grab")
    before = _files(env.settings.home)
    with pytest.raises(InstallRefusedError, match=r"vendor_llm.*\(llm/openai\).*trusted only"):
        _install(env, grab)
    assert _files(env.settings.home) == before
    dev = env.with_settings(dev_mode=True, plugin_path=(env.tmp / "downloads",))
    with pytest.raises(InstallRefusedError, match="not for this name in this provider slot"):
        dev.registry().load("llm", "openai")
    assert "grab" not in env.marker_lines()
    assert dev.registry().load("llm", "vendor").provider_class.__name__ == "EchoProvider"


def test_only_name_at_slot_pins_the_slot_before_any_install(env):
    pub = env.publisher("vendor", trusted=False)
    TrustStore(env.settings.trust_file).add(pub.pub_pem(), publisher="vendor",
                                            only=("vendor_llm@llm/vendor",))
    with pytest.raises(InstallRefusedError, match="trusted only for vendor_llm@llm/vendor"):
        _install(env, env.bundle(pub, name="vendor_llm", provider_name="openai"))
    _install(env, env.bundle(pub, name="vendor_llm", provider_name="vendor"))


def test_another_name_never_takes_an_installed_slot_outright(env):
    """The same publisher's bundle of another name, newer, claiming the installed echo's
    slot from a searched folder: the installed plugin serves, the other never runs."""
    pub = env.publisher()
    _install(env, env.bundle(pub, version="1.0.0", tag="installed"))
    folder = env.tmp / "folder"
    env.write(folder, "other.pepperplugin",
              env.bundle(pub, name="echo_renamed", version="3.0.0", tag="other"))
    dev = env.with_settings(dev_mode=True, plugin_path=(folder,))
    provider = dev.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"
    assert env.marker_lines() == ["installed"]


def test_a_fallback_never_leaves_the_installed_plugin_for_another_name(env):
    """The installed echo 2.0.0 cannot load (its import fails); an older release of the
    same publisher under another name offers the slot: the load fails with the installed
    plugin's own error instead of rolling back to it."""
    pub = env.publisher()
    _install(env, env.bundle(pub, version="2.0.0", import_module="pepperpy_no_such_module",
                             tag="installed"))
    folder = env.tmp / "folder"
    env.write(folder, "old.pepperplugin",
              env.bundle(pub, name="echo_legacy", version="1.0.0", tag="legacy"))
    dev = env.with_settings(dev_mode=True, plugin_path=(folder,))
    with pytest.raises(PluginLoadError, match="pepperpy_no_such_module"):
        dev.registry().load("llm", "echo")
    assert "legacy" not in env.marker_lines()


def test_a_plain_name_entry_never_follows_its_plugin_into_another_slot(env):
    """A plain ``--only vendor_llm`` entry written after vendor_llm was installed (so not
    pinned yet) still means the slot vendor_llm is installed in."""
    pub = env.publisher("vendor")
    _install(env, env.bundle(pub, name="vendor_llm", provider_name="vendor", tag="v1"))
    store = TrustStore(env.settings.trust_file)
    store.remove(pub.key_id)
    store.add(pub.pub_pem(), publisher="vendor", only=("vendor_llm",))
    folder = env.tmp / "folder"
    env.write(folder, "grab.pepperplugin", env.bundle(
        pub, name="vendor_llm", provider_name="openai", version="1.1.0", tag="grab"))
    dev = env.with_settings(dev_mode=True, plugin_path=(folder,))
    with pytest.raises(InstallRefusedError, match="not for this name in this provider slot"):
        dev.registry().load("llm", "openai")
    assert "grab" not in env.marker_lines()


def test_plugin_deps_installs_the_requirements_of_the_installed_bundle(env, monkeypatch,
                                                                       capsys):
    """A newer echo in a searched folder ranks first for the slot and needs a package
    that exists nowhere: `plugin deps echo` works on the installed echo, which needs
    nothing, and never starts uv for the other bundle."""
    from pepperpy.cli import main

    pub = env.publisher()
    _install(env, env.bundle(pub, version="1.0.0"))
    folder = env.tmp / "folder"
    env.write(folder, "echo-2.pepperplugin", env.bundle(
        pub, version="2.0.0", dependencies=["pepperpy-no-such-package>=1"]))
    for name, value in (("PEPPERPY_DEV", "1"), ("PEPPERPY_PLUGIN_PATH", str(folder)),
                        ("PEPPERPY_CHECKOUT_PLUGINS", "0"), ("PEPPERPY_NO_INDEX", "1")):
        monkeypatch.setenv(name, value)
    assert main(["plugin", "deps", "echo"]) == 0
    assert "echo: dependencies satisfied" in capsys.readouterr().out
    assert main(["plugin", "deps", "nothing"]) == 1
    assert "'nothing' is not installed" in capsys.readouterr().err


def test_plugin_list_says_where_each_candidate_comes_from_and_whether_it_is_used(
        env, monkeypatch, capsys):
    from pepperpy.cli import main

    pub = env.publisher()
    _install(env, env.bundle(pub, version="1.0.0"))
    folder = env.tmp / "folder"
    env.write(folder, "echo-2.pepperplugin", env.bundle(pub, version="2.0.0"))
    env.write(folder, "renamed.pepperplugin", env.bundle(pub, name="echo_renamed",
                                                         version="3.0.0"))
    monkeypatch.setenv("PEPPERPY_PLUGIN_PATH", str(folder))
    monkeypatch.setenv("PEPPERPY_CHECKOUT_PLUGINS", "0")
    assert main(["plugin", "list"]) == 0
    out, err = capsys.readouterr()
    assert "ok                    echo 1.0.0 [llm/echo] (installed, used)" in out
    assert "echo-2" not in out and "development mode is off" in err
    monkeypatch.setenv("PEPPERPY_DEV", "1")
    assert main(["plugin", "list"]) == 0
    out = capsys.readouterr().out
    assert "echo 1.0.0 [llm/echo] (installed, not used)" in out
    assert "echo 2.0.0 [llm/echo] (plugin-path, used)" in out
    assert "rollback              echo_renamed 3.0.0 [llm/echo] (plugin-path, not used)" in out
