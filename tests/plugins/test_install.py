"""Install policy: rollback, same-version-other-bytes, no-op reinstall, name ownership,
remove, concurrent installs, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy.core import (
    InstallRefusedError,
    PluginLoadError,
    PluginNotFoundError,
    UntrustedPublisherError,
)
from pepperpy.plugins.install import install_bundle, remove_plugin
from pepperpy.plugins.state import load_state

REPO = Path(__file__).resolve().parents[2]


def _file(env, data: bytes, filename: str) -> Path:
    return env.write(env.tmp / "downloads", filename, data)


def _installed_version(env, name: str = "echo") -> str:
    return load_state(env.settings.state_file).plugins[name].version


def test_install_records_version_digest_and_key(env):
    pub = env.publisher()
    result = install_bundle(_file(env, env.bundle(pub), "e.pepperplugin"), settings=env.settings)
    record = load_state(env.settings.state_file).plugins["echo"]
    assert (record.version, record.key_id, record.digest) == ("1.0.0", pub.key_id,
                                                              result.record.digest)
    assert result.path.read_bytes() == result.verified.data


def test_untrusted_bundle_is_not_installed(env):
    stranger = env.publisher("stranger", trusted=False)
    with pytest.raises(UntrustedPublisherError):
        install_bundle(_file(env, env.bundle(stranger), "e.pepperplugin"), settings=env.settings)
    assert not env.settings.state_file.exists()
    assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()


@pytest.mark.parametrize(
    ("field", "value", "needs"),
    [
        ("pepperpy_compatibility", ">=9.0", "needs PepperPy"),
        ("python_requires", ">=4", "needs Python"),
    ],
    ids=["other-pepperpy", "other-python"],
)
def test_incompatible_bundle_is_not_installed(env, field, value, needs):
    pub = env.publisher()
    bundle = env.bundle(pub, dependencies=["does-not-exist-anywhere>=1"], extra={field: value})
    with pytest.raises(PluginLoadError, match=needs):
        install_bundle(_file(env, bundle, "e.pepperplugin"), settings=env.settings)
    assert not env.settings.state_file.exists()
    assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()


def test_downgrade_refused_unless_allowed(env):
    pub = env.publisher()
    old = _file(env, env.bundle(pub, version="1.0.0"), "old.pepperplugin")
    new = _file(env, env.bundle(pub, version="2.0.0"), "new.pepperplugin")
    install_bundle(new, settings=env.settings)
    with pytest.raises(InstallRefusedError, match="--allow-downgrade"):
        install_bundle(old, settings=env.settings)
    assert _installed_version(env) == "2.0.0"
    result = install_bundle(old, settings=env.settings, allow_downgrade=True)
    assert (result.action, _installed_version(env)) == ("downgraded", "1.0.0")


def test_same_version_other_bytes_refused_unless_forced(env):
    pub = env.publisher()
    first = _file(env, env.bundle(pub, tag="first"), "a.pepperplugin")
    second = _file(env, env.bundle(pub, tag="second"), "b.pepperplugin")
    install_bundle(first, settings=env.settings)
    with pytest.raises(InstallRefusedError, match="other bytes"):
        install_bundle(second, settings=env.settings)
    assert install_bundle(second, settings=env.settings, force=True).action == "replaced"


def test_identical_bundle_again_is_a_no_op(env):
    path = _file(env, env.bundle(env.publisher()), "a.pepperplugin")
    install_bundle(path, settings=env.settings)
    before = env.settings.state_file.stat().st_mtime_ns
    assert install_bundle(path, settings=env.settings).action == "unchanged"
    assert env.settings.state_file.stat().st_mtime_ns == before


def test_reinstalling_the_identical_bundle_repairs_a_damaged_copy(env):
    path = _file(env, env.bundle(env.publisher()), "a.pepperplugin")
    result = install_bundle(path, settings=env.settings)
    result.path.write_bytes(b"garbage")
    install_bundle(path, settings=env.settings)
    assert result.path.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("same", ["name", "provider"])
def test_name_takeover_by_another_trusted_key_refused(env, same):
    owner, rival = env.publisher(), env.publisher("rival")
    install_bundle(_file(env, env.bundle(owner), "a.pepperplugin"), settings=env.settings)
    options = {"version": "9.0.0"} if same == "name" else {"name": "rival_echo"}
    takeover = _file(env, env.bundle(rival, **options), "b.pepperplugin")
    with pytest.raises(InstallRefusedError, match="--transfer-owner"):
        install_bundle(takeover, settings=env.settings)
    assert load_state(env.settings.state_file).plugins["echo"].key_id == owner.key_id
    install_bundle(takeover, settings=env.settings, transfer_owner=True)
    state = load_state(env.settings.state_file)
    assert [r.key_id for r in state.plugins.values()] == [rival.key_id]


def test_remove(env):
    path = _file(env, env.bundle(env.publisher()), "a.pepperplugin")
    install_bundle(path, settings=env.settings)
    remove_plugin("echo", settings=env.settings)
    assert load_state(env.settings.state_file).plugins == {}
    assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()
    with pytest.raises(PluginNotFoundError):
        remove_plugin("echo", settings=env.settings)


def _cli(env, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PEPPERPY_HOME=str(env.settings.home), PEPPERPY_AUTO_INSTALL="0",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pepperpy", *args], env=environ,
                          cwd=env.tmp, capture_output=True, text=True, timeout=120,
                          check=check)


def test_two_processes_installing_at_once_end_with_one_valid_install(env):
    path = _file(env, env.bundle(env.publisher()), "a.pepperplugin")
    environ = dict(os.environ, PEPPERPY_HOME=str(env.settings.home),
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    procs = [
        subprocess.Popen([sys.executable, "-m", "pepperpy", "plugin", "install", str(path)],
                         env=environ, cwd=env.tmp, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    actions = sorted(out.split()[0] for out, _ in outputs)
    assert actions == ["installed", "unchanged", "unchanged", "unchanged"]
    assert (env.settings.plugins_dir / "echo.pepperplugin").read_bytes() == path.read_bytes()
    assert list(load_state(env.settings.state_file).plugins) == ["echo"]
    leftovers = [p.name for p in env.settings.plugins_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_install_waits_for_the_install_lock_before_reading_the_state(env):
    """Another install holding the lock: nothing is read, copied or recorded until it
    lets go (so two installs never both see "not installed" and both write)."""
    import threading

    from pepperpy.plugins.locking import file_lock

    path = _file(env, env.bundle(env.publisher()), "a.pepperplugin")
    results: list = []
    with file_lock(env.settings.home / "install.lock"):
        thread = threading.Thread(
            target=lambda: results.append(install_bundle(path, settings=env.settings)),
            daemon=True)
        thread.start()
        thread.join(0.5)
        assert results == [] and not env.settings.state_file.exists()
        assert not (env.settings.plugins_dir / "echo.pepperplugin").exists()
    thread.join(30)
    assert [r.action for r in results] == ["installed"]


def test_cli_install_list_doctor_remove(env):
    pub = env.publisher()
    good = _file(env, env.bundle(pub), "echo.pepperplugin")
    old = _file(env, env.bundle(pub, version="0.9.0"), "old.pepperplugin")
    assert "installed echo 1.0.0" in _cli(env, "plugin", "install", str(good), check=True).stdout
    refused = _cli(env, "plugin", "install", str(old))
    assert refused.returncode == 1
    assert "--allow-downgrade" in refused.stderr and len(refused.stderr.splitlines()) == 1
    listed = json.loads(_cli(env, "plugin", "list", "--json", check=True).stdout)
    assert [(r["name"], r["state"], r["source"]) for r in listed] == [("echo", "ok", "installed")]
    (env.settings.plugins_dir / "broken.pepperplugin").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    doctor = _cli(env, "plugin", "doctor")
    assert doctor.returncode == 1
    assert "[invalid]" in doctor.stdout and "fix:" in doctor.stdout
    assert _cli(env, "plugin", "remove", "echo", check=True).stdout.startswith("removed echo")
    assert _cli(env, "plugin", "remove", "echo").returncode == 1


def test_trust_add_scope_lets_the_key_take_over_the_named_plugin(env):
    """`pepperpy trust add B.pub --scope echo` (CLI help: "let this key take over plugin
    NAME from its current owner"): B's echo installs without --transfer-owner; a scope
    naming another plugin does not help."""
    from pepperpy.bundle.trust import TrustStore

    a = env.publisher("a")
    install_bundle(_file(env, env.bundle(a, tag="A"), "a.pepperplugin"), settings=env.settings)
    b = env.publisher("b", trusted=False)
    store = TrustStore(env.settings.trust_file)
    store.add(b.pub_pem(), publisher="b", scopes=("other",))
    data = _file(env, env.bundle(b, version="2.0.0", tag="B"), "b.pepperplugin")
    with pytest.raises(InstallRefusedError, match="--scope echo"):
        install_bundle(data, settings=env.settings)
    store.add(b.pub_pem(), publisher="b", scopes=("echo",))
    result = install_bundle(data, settings=env.settings)
    assert result.action == "upgraded"
    state = load_state(env.settings.state_file)
    assert [r.key_id for r in state.plugins.values()] == [b.key_id]


def test_scope_does_not_lift_rollback_protection(env):
    from pepperpy.bundle.trust import TrustStore

    a = env.publisher("a")
    install_bundle(_file(env, env.bundle(a, version="2.0.0"), "a.pepperplugin"),
                   settings=env.settings)
    b = env.publisher("b", trusted=False)
    TrustStore(env.settings.trust_file).add(b.pub_pem(), publisher="b", scopes=("echo",))
    older = _file(env, env.bundle(b, version="1.0.0"), "b.pepperplugin")
    with pytest.raises(InstallRefusedError, match="rollback protection"):
        install_bundle(older, settings=env.settings)


def test_fifo_is_refused_at_install_without_blocking(env):
    from pepperpy.core import BundleInvalidError

    fifo = env.tmp / "evil.pepperplugin"
    os.mkfifo(fifo)
    with pytest.raises(BundleInvalidError, match="not a regular file"):
        install_bundle(fifo, settings=env.settings)
    assert not env.settings.state_file.exists()


def test_list_doctor_and_errors_escape_terminal_controls_in_file_names(env):
    """A file name is attacker text: ``plugin list``, ``doctor`` and error messages show
    its escapes as ``\\x1b``, so a name cannot rewrite or fake what the screen shows."""
    evil = "x\x1b[2K\rok      echo 9.9.9 [llm-echo]\x1b]52;c;cm0gLXJmIH4=\x07.pepperplugin"
    env.write(env.settings.plugins_dir, evil, b"not a bundle")
    for args in (("plugin", "list"), ("plugin", "doctor")):
        out = _cli(env, *args)
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "\r" not in out.stdout
        assert "x\\x1b[2K\\rok" in out.stdout, out.stdout
    refused = _cli(env, "plugin", "install", str(env.tmp / "missing" / evil))
    assert refused.returncode == 1
    assert "\x1b" not in refused.stderr and "\x07" not in refused.stderr
    assert "x\\x1b[2K" in refused.stderr, refused.stderr


@pytest.mark.parametrize("flag", ["--transfer-owner", "--force", "--allow-downgrade"])
def test_an_override_is_never_widened_to_several_targets(env, flag, capsys):
    """`plugin install A B --transfer-owner` (or --force, --allow-downgrade) would lift the
    check for every target, though the user decided about one bundle: B would take over
    the owner's name, replace its bytes or roll it back. Refused before anything is
    installed; with one target the flag works as before."""
    from pepperpy.cli import main

    owner, rival = env.publisher(), env.publisher("rival")
    install_bundle(_file(env, env.bundle(owner), "a.pepperplugin"), settings=env.settings)
    before = env.settings.state_file.read_bytes()
    chosen = _file(env, env.bundle(rival, name="rival_echo", provider_name="rival"),
                   "chosen.pepperplugin")
    other = {"--transfer-owner": env.bundle(rival, version="9.0.0"),
             "--force": env.bundle(owner, tag="other bytes"),
             "--allow-downgrade": env.bundle(owner, version="0.9.0")}[flag]
    code = main(["plugin", "install", str(chosen), str(_file(env, other, "b.pepperplugin")),
                 flag])
    assert env.settings.state_file.read_bytes() == before  # nothing installed
    assert code == 1
    err = capsys.readouterr().err
    assert f"{flag} lift a check" in err and "take one target, not 2" in err
    assert main(["plugin", "install", str(chosen), flag]) == 0  # one target: as before
    state = load_state(env.settings.state_file).plugins
    assert (state["echo"].key_id, state["rival_echo"].key_id) == (owner.key_id, rival.key_id)
