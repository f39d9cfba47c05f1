"""End to end: real signed bundles, installed into a temporary home, loaded for real."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import warnings
from pathlib import Path

import pytest

from pepperpy.core import (
    BundleInvalidError,
    InstallRefusedError,
    PluginNotFoundError,
    RevokedError,
    UntrustedPublisherError,
    ValidationError,
)
from pepperpy.llm import GenerationOptions, Message
from pepperpy.plugins.install import install_bundle
from pepperpy.plugins.manager import PluginConflictWarning, PluginManager
from pepperpy.trust.sealed import SealedImporter


def _ask(provider, text: str = "hi") -> str:
    result = asyncio.run(provider.generate([Message("user", text)], GenerationOptions()))
    return result.content


def _install(env, data: bytes, filename: str = "echo.pepperplugin", **options):
    path = env.write(env.tmp / "downloads", filename, data)
    return install_bundle(path, settings=env.settings, **options)


def test_installed_bundle_loads_from_the_verified_bytes(env):
    pub = env.publisher()
    _install(env, env.bundle(pub))
    provider = env.registry().create("llm", "echo", {"api_key": "k", "repeat": 2})
    assert _ask(provider) == "echo: hihi"
    module = sys.modules[type(provider).__module__]
    assert isinstance(module.__loader__, SealedImporter)
    assert module.__name__.startswith("_pepperpy_plugins.echo_")
    assert type(provider).greeting() == "hello from inside the bundle\n"  # importlib.resources
    assert env.marker_lines() == ["echo-1.0.0"]


def test_no_plugin_source_on_disk_outside_bundles(env):
    pub = env.publisher()
    _install(env, env.bundle(pub))
    env.registry().create("llm", "echo", {"api_key": "k"})
    stray = [p for p in env.settings.home.rglob("*") if p.suffix in {".py", ".pyc"}]
    assert stray == []
    copies = [p for p in env.settings.home.rglob("*.pepperplugin")]
    assert copies == [env.settings.plugins_dir / "echo.pepperplugin"]  # no pinned copy


def test_pepperpy_fluent_api_uses_the_plugin(env):
    from pepperpy import PepperPy

    pub = env.publisher()
    _install(env, env.bundle(pub))

    async def main() -> str:
        async with PepperPy(settings=env.settings).with_llm("echo", api_key="k") as pepper:
            result = await pepper.chat.with_user("ping").generate()
            return result.content

    assert asyncio.run(main()) == "echo: ping"


def test_two_plugins_with_the_same_module_names_coexist(env):
    pub = env.publisher()
    _install(env, env.bundle(pub))
    other = env.bundle(pub, name="parrot", provider_name="parrot", tag="parrot")
    _install(env, other, "parrot.pepperplugin")
    registry = env.registry()
    echo = registry.create("llm", "echo", {"api_key": "k"})
    parrot = registry.create("llm", "parrot", {"api_key": "k", "prefix": "p: "})
    assert type(echo).__module__ != type(parrot).__module__
    assert (_ask(echo), _ask(parrot)) == ("echo: hi", "p: hi")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"api_key": "k", "colour": "red"}, "unknown option(s) colour; allowed",
                     id="unknown"),
        pytest.param({"api_key": "k", "repaet": 2, "colour": "red"},
                     "unknown option(s) colour, repaet ('repaet': did you mean 'repeat'?); "
                     "allowed options: api_key, ", id="unknown-mistyped"),
        pytest.param({"api_key": "k", "repeat": "x"}, "option repeat", id="wrong-type"),
        pytest.param({}, "PEPPERPY_TEST_ECHO_KEY", id="missing-required-names-env"),
    ],
)
def test_config_is_checked_against_the_manifest_schema(env, monkeypatch, config, expected):
    monkeypatch.delenv("PEPPERPY_TEST_ECHO_KEY", raising=False)
    _install(env, env.bundle(env.publisher()))
    with pytest.raises(ValidationError, match=re.escape(expected)):
        env.registry().create("llm", "echo", config)


def test_config_is_filled_from_the_environment(env, monkeypatch):
    monkeypatch.setenv("PEPPERPY_TEST_ECHO_KEY", "from-env")
    _install(env, env.bundle(env.publisher()))
    provider = env.registry().create("llm", "echo", {})
    assert provider.config["api_key"] == "from-env"


@pytest.mark.parametrize("where", [0, "middle", -1])
def test_tampered_installed_file_is_refused_and_runs_no_code(env, where):
    pub = env.publisher()
    result = _install(env, env.bundle(pub))
    data = bytearray(result.path.read_bytes())
    index = len(data) // 2 if where == "middle" else where
    data[index] ^= 0x01
    result.path.write_bytes(bytes(data))
    with pytest.raises((BundleInvalidError, InstallRefusedError)):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert env.marker_lines() == []


def test_installed_file_swapped_for_an_older_signed_version_is_refused(env):
    pub = env.publisher()
    old = env.bundle(pub, version="1.0.0")
    _install(env, env.bundle(pub, version="2.0.0"))
    (env.settings.plugins_dir / "echo.pepperplugin").write_bytes(old)
    with pytest.raises(InstallRefusedError, match="does not match its install record"):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert env.marker_lines() == []


def test_only_untrusted_bundles_raise_with_the_fix(env):
    stranger = env.publisher("stranger", trusted=False)
    folder = env.tmp / "shared"
    env.write(folder, "echo.pepperplugin", env.bundle(stranger))
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    with pytest.raises(UntrustedPublisherError, match="pepperpy trust add") as info:
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert stranger.key_id in str(info.value)
    assert info.value.key_id == stranger.key_id
    assert env.marker_lines() == []


def test_untrusted_bundle_never_wins_over_a_trusted_one(env):
    trusted, stranger = env.publisher(), env.publisher("stranger", trusted=False)
    folder = env.tmp / "shared"
    env.write(folder, "a.pepperplugin", env.bundle(stranger, version="9.0.0", tag="evil"))
    env.write(folder, "b.pepperplugin", env.bundle(trusted, version="1.0.0", tag="good"))
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"
    assert env.marker_lines() == ["good"]


def test_revoked_digest_is_refused_even_when_installed(env):
    from pepperpy.bundle.trust import TrustStore

    result = _install(env, env.bundle(env.publisher()))
    TrustStore(env.settings.trust_file).revoke_bundle(result.record.digest)
    with pytest.raises(RevokedError):
        env.registry().create("llm", "echo", {"api_key": "k"})
    with pytest.raises(RevokedError):
        install_bundle(result.path, settings=env.settings)
    assert env.marker_lines() == []


def test_revoked_key_is_refused(env):
    from pepperpy.bundle.trust import TrustStore

    pub = env.publisher()
    _install(env, env.bundle(pub))
    TrustStore(env.settings.trust_file).revoke(pub.key_id)
    with pytest.raises(RevokedError):
        env.registry().create("llm", "echo", {"api_key": "k"})


def test_conflict_highest_version_wins_with_a_warning(env):
    pub = env.publisher()
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(first, "echo-1.pepperplugin", env.bundle(pub, version="1.0.0", tag="v1"))
    env.write(second, "echo-2.pepperplugin", env.bundle(pub, version="2.0.0", tag="v2"))
    env = env.with_settings(dev_mode=True, plugin_path=(first, second))
    with pytest.warns(PluginConflictWarning, match=r"echo 2\.0\.0 .*not using echo 1\.0\.0"):
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "2.0.0"
    assert env.marker_lines() == ["v2"]


def test_conflict_equal_versions_earlier_folder_wins(env):
    acme, other = env.publisher(), env.publisher("other")
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(first, "x.pepperplugin", env.bundle(acme, name="echo_a", tag="first"))
    env.write(second, "x.pepperplugin", env.bundle(other, name="echo_b", tag="second"))
    env = env.with_settings(dev_mode=True, plugin_path=(first, second))
    with pytest.warns(PluginConflictWarning):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert env.marker_lines() == ["first"]


def test_identical_copies_are_no_conflict(env):
    """`make demo` installs the bundles dist_plugins/ holds: the same bytes twice."""
    pub = env.publisher()
    data = env.bundle(pub, version="1.0.0", tag="same")
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(first, "echo.pepperplugin", data)
    env.write(second, "echo.pepperplugin", data)
    env = env.with_settings(dev_mode=True, plugin_path=(first, second))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginConflictWarning)
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"


def test_name_owned_by_installed_key_is_not_taken_over_by_discovery(env):
    owner, rival = env.publisher(), env.publisher("rival")
    _install(env, env.bundle(owner, version="1.0.0", tag="owner"))
    folder = env.tmp / "shared"
    env.write(folder, "echo.pepperplugin", env.bundle(rival, version="5.0.0", tag="rival"))
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginConflictWarning)
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"
    assert env.marker_lines() == ["owner"]


def _broken_bundles(env, pub) -> dict[str, bytes]:
    good = env.bundle(pub, name="other", provider_name="other", tag="other")
    flipped = bytearray(good)
    flipped[len(flipped) // 3] ^= 0xFF
    return {
        "truncated.pepperplugin": good[: len(good) // 2],
        "flipped.pepperplugin": bytes(flipped),
        "padded.pepperplugin": good + b"\0" * 10,
        "empty.pepperplugin": b"",
        "untrusted.pepperplugin": env.bundle(env.publisher("nobody", trusted=False),
                                             name="stranger", provider_name="stranger"),
    }


def test_one_good_and_five_broken_bundles(env):
    pub = env.publisher()
    folder = env.tmp / "mixed"
    env.write(folder, "good.pepperplugin", env.bundle(pub, tag="good"))
    for filename, data in _broken_bundles(env, pub).items():
        env.write(folder, filename, data)
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    registry = env.registry()
    assert _ask(registry.create("llm", "echo", {"api_key": "k"})) == "echo: hi"
    assert env.marker_lines() == ["good"]

    from pepperpy.plugins.doctor import diagnose

    states = {Path(r.path).name: r.state for r in diagnose(env.manager())}
    assert states == {
        "empty.pepperplugin": "invalid",
        "flipped.pepperplugin": "invalid",
        "good.pepperplugin": "ok",
        "padded.pepperplugin": "invalid",
        "truncated.pepperplugin": "invalid",
        "untrusted.pepperplugin": "untrusted",
    }
    assert env.marker_lines() == ["good"]


def test_unknown_provider_is_not_found(env):
    with pytest.raises(PluginNotFoundError, match="pepperpy plugin install"):
        env.registry().create("llm", "nothing", {})


def test_developer_mode_loads_unsigned_folder_loudly(env, capsys):
    from pepperpy.plugins.devmode import DeveloperModeWarning
    from plugins.fixtures.echo import echo_files

    src = env.tmp / "plugin_src" / "echo"
    for name, data in echo_files(marker=env.marker, tag="dev"):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    assert env.registry().available("llm") == []  # off unless explicitly set
    env = env.with_settings(dev_plugins=(src.parent,))
    with pytest.warns(DeveloperModeWarning):
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert _ask(provider) == "echo: hi"
    assert "DEVELOPER MODE" in capsys.readouterr().err
    assert type(provider).__module__.startswith("_pepperpy_plugins.echo_dev")


def _dev_folder_with_shared_helper(env, listing: str = "helper.py\n") -> Path:
    """An echo dev folder whose helper.py lives in ../_shared and is listed in shared.txt."""
    from plugins.fixtures.echo import echo_files

    root = env.tmp / "plugin_src"
    for name, data in echo_files(marker=env.marker, tag="dev-shared"):
        target = (root / "_shared" if name == "helper.py" else root / "echo") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (root / "_shared" / "unlisted.py").write_text("X = 1\n")
    (root / "echo" / "shared.txt").write_text(listing)
    return root


def test_developer_mode_imports_shared_modules_like_the_bundle(env):
    """shared.txt works in dev mode: the listed module comes from its real file in
    _shared/ (tracebacks point at the source), and _shared/ itself is no plugin."""
    from pepperpy.plugins.devmode import DeveloperModeWarning, _folders

    root = _dev_folder_with_shared_helper(env)
    env = env.with_settings(dev_plugins=(root,))
    assert _folders(env.settings) == [root / "echo"]
    with pytest.warns(DeveloperModeWarning):
        provider = env.registry().create("llm", "echo", {"api_key": "k", "repeat": 2})
    assert _ask(provider) == "echo: hihi"
    package = type(provider).__module__.rpartition(".")[0]
    helper = sys.modules[f"{package}.helper"]
    assert helper.__file__ == str(root / "_shared" / "helper.py")
    with pytest.raises(ImportError):  # only what shared.txt lists, as in the bundle
        __import__(f"{package}.unlisted")


def test_developer_mode_shared_errors_are_the_builders(env):
    from pepperpy.core import ConfigurationError
    from pepperpy.plugins.devmode import DeveloperModeWarning

    root = _dev_folder_with_shared_helper(env, "helper.py\n../evil.py\n")
    env = env.with_settings(dev_plugins=(root,))
    with pytest.warns(DeveloperModeWarning), pytest.raises(ConfigurationError, match="line 2"):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert env.marker_lines() == []


def test_available_lists_manifests_without_running_code(env):
    pub = env.publisher()
    _install(env, env.bundle(pub))
    assert env.registry().available("llm") == ["echo"]
    assert env.marker_lines() == []
    assert not os.path.exists(env.settings.cache_dir / "pinned")


# -- the install record pins a name for every folder, not only plugins_dir -------------

def _installed_v2_and_mirror_with_v1(env):
    pub = env.publisher()
    _install(env, env.bundle(pub, version="2.0.0", tag="v2"))
    mirror = env.tmp / "mirror"  # e.g. a shared folder that still holds old releases
    env.write(mirror, "echo-1.0.0.pepperplugin", env.bundle(pub, version="1.0.0", tag="v1"))
    return env.with_settings(dev_mode=True, plugin_path=(mirror,))


def test_installed_copy_deleted_does_not_roll_back_to_an_older_plugin_path_version(env):
    """Installed echo 2.0.0 deleted: echo 1.0.0 from a plugin-path folder is refused
    (docs/security.md, promise 3), and the error says how to repair."""
    env = _installed_v2_and_mirror_with_v1(env)
    (env.settings.plugins_dir / "echo.pepperplugin").unlink()
    with pytest.raises(BundleInvalidError, match="pepperpy plugin install FILE"):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert "v1" not in env.marker_lines()


def test_installed_copy_tampered_does_not_roll_back_to_an_older_plugin_path_version(env):
    env = _installed_v2_and_mirror_with_v1(env)
    installed = env.settings.plugins_dir / "echo.pepperplugin"
    data = bytearray(installed.read_bytes())
    data[100] ^= 0xFF
    installed.write_bytes(bytes(data))
    with pytest.raises((BundleInvalidError, InstallRefusedError),
                       match="pepperpy plugin install FILE"):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert "v1" not in env.marker_lines()


def test_older_plugin_path_version_is_reported_as_rollback(env):
    """With the installed copy healthy it wins; the older copy elsewhere is never a
    candidate and `plugin doctor` says why."""
    from pepperpy.plugins.doctor import diagnose

    env = _installed_v2_and_mirror_with_v1(env)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginConflictWarning)
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "2.0.0"
    states = {Path(r.path).name: (r.state, r.fix) for r in diagnose(env.manager())}
    assert states["echo.pepperplugin"][0] == "ok"
    state, fix = states["echo-1.0.0.pepperplugin"]
    assert state == "rollback" and "pepperpy plugin install FILE" in fix


def test_same_version_other_bytes_from_plugin_path_replaces_no_missing_installed_copy(env):
    """echo 2.0.0 installed (digest A); another echo 2.0.0 (digest B, same key) in the
    plugin path; with the installed copy gone, B is refused: the record pins 2.0.0 to A."""
    pub = env.publisher()
    a = env.bundle(pub, version="2.0.0", tag="A")
    b = env.bundle(pub, version="2.0.0", tag="B")
    assert a != b
    _install(env, a)
    mirror = env.tmp / "mirror"
    env.write(mirror, "echo-2.0.0.pepperplugin", b)
    env = env.with_settings(dev_mode=True, plugin_path=(mirror,))
    (env.settings.plugins_dir / "echo.pepperplugin").unlink()
    with pytest.raises(BundleInvalidError, match="is missing"):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert "B" not in env.marker_lines()


def test_identical_copy_in_plugin_path_still_loads_when_installed_copy_is_missing(env):
    pub = env.publisher()
    data = env.bundle(pub, version="2.0.0", tag="same")
    _install(env, data)
    mirror = env.tmp / "mirror"
    env.write(mirror, "echo-2.0.0.pepperplugin", data)
    env = env.with_settings(dev_mode=True, plugin_path=(mirror,))
    (env.settings.plugins_dir / "echo.pepperplugin").unlink()
    assert _ask(env.registry().create("llm", "echo", {"api_key": "k"})) == "echo: hi"


def test_scoped_key_takes_over_the_named_plugin_at_load(env):
    """`trust add B.pub --scope echo`: B's higher echo wins discovery over the installed
    echo of key A (highest version wins); an unscoped rival still does not."""
    from pepperpy.bundle.trust import TrustStore

    a = env.publisher("a")
    _install(env, env.bundle(a, version="1.0.0", tag="A"))
    b = env.publisher("b", trusted=False)
    TrustStore(env.settings.trust_file).add(b.pub_pem(), publisher="b", scopes=("echo",))
    folder = env.tmp / "shared"
    env.write(folder, "echo-b.pepperplugin", env.bundle(b, version="2.0.0", tag="B"))
    env = env.with_settings(dev_mode=True, plugin_path=(folder,))
    with pytest.warns(PluginConflictWarning):
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "2.0.0"
    assert env.marker_lines() == ["B"]


def test_package_name_uses_the_full_digest(env):
    from pepperpy.trust.sealed import package_name

    digest = "ab" * 32
    assert package_name("echo", digest) == f"_pepperpy_plugins.echo_{digest}"
    pub = env.publisher()
    result = _install(env, env.bundle(pub))
    provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).__module__.startswith(
        f"_pepperpy_plugins.echo_{result.record.digest}")


def test_loading_waits_for_an_install_holding_the_lock(env):
    """Loading reads the installed file and its record under the shared install lock."""
    import threading

    from pepperpy.plugins.locking import file_lock

    _install(env, env.bundle(env.publisher()))
    done = threading.Event()
    manager = env.manager()
    with file_lock(env.settings.home / "install.lock"):
        thread = threading.Thread(target=lambda: (manager.choose("llm", "echo"), done.set()),
                                  daemon=True)
        thread.start()
        assert not done.wait(0.5)
    assert done.wait(10)


# -- developer mode: one broken folder is not an outage --------------------------------

def _broken_dev_folder(env, text: str = "{not json"):
    dev = env.tmp / "dev" / "wip"
    dev.mkdir(parents=True)
    (dev / "plugin.json").write_text(text)
    return dev


def test_broken_dev_plugin_folder_does_not_block_signed_providers(env):
    from pepperpy.plugins.devmode import DeveloperModeWarning

    _install(env, env.bundle(env.publisher()))
    dev = _broken_dev_folder(env)
    env = env.with_settings(dev_plugins=(dev.parent,))
    with pytest.warns(DeveloperModeWarning, match="skipping a broken folder"):
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert _ask(provider) == "echo: hi"


def test_broken_dev_folder_is_raised_when_nothing_else_offers_the_provider(env):
    dev = _broken_dev_folder(env)
    env = env.with_settings(dev_plugins=(dev.parent,))
    with pytest.warns(UserWarning), pytest.raises(BundleInvalidError, match="PEPPERPY_DEV_PLUGINS"):
        env.registry().create("llm", "echo", {"api_key": "k"})


def test_broken_dev_folder_for_another_provider_stays_quiet(env):
    dev = _broken_dev_folder(env, '{"category": "llm", "provider_name": "other"}')
    env = env.with_settings(dev_plugins=(dev.parent,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PluginNotFoundError):
            env.registry().create("llm", "echo", {"api_key": "k"})


def test_unreadable_dev_plugin_json_is_a_pepperpy_error(env, monkeypatch):
    from pepperpy.plugins import devmode

    dev = _broken_dev_folder(env, "{}")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == dev / "plugin.json":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    env = env.with_settings(dev_plugins=(dev.parent,))
    assert devmode.available(env.settings, "llm") == []
    with pytest.raises(BundleInvalidError, match="cannot read: Permission denied"):
        devmode.raise_if_broken(env.settings, "llm", "echo")


def test_a_load_reads_the_trust_store_once_and_each_later_load_again(env, monkeypatch):
    """Discovery and the check of the chosen bundle use one read of the store; a later
    load on the same manager (discovery cached) reads it again and sees a revocation."""
    from pepperpy.bundle.trust import TrustStore

    pub = env.publisher()
    _install(env, env.bundle(pub))
    reads: list[Path] = []
    original = TrustStore.read

    def counting(self):
        reads.append(self.path)
        return original(self)

    monkeypatch.setattr(TrustStore, "read", counting)
    manager = PluginManager(env.settings)
    assert manager.choose("llm", "echo") is not None
    assert reads == [env.settings.trust_file]
    TrustStore(env.settings.trust_file).revoke(pub.key_id)
    with pytest.raises(RevokedError):
        manager.choose("llm", "echo")
    assert len(reads) == 2
