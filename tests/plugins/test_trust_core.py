"""The trust core's second round: verify before parse, one policy, the verified cache,
a read-only home, and the host surviving hostile files in its plugin folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy.core import BundleInvalidError, InstallRefusedError, UntrustedPublisherError
from pepperpy_testing.bundles import make_entry, pack, sign_raw

REPO = Path(__file__).resolve().parents[2]

# -- hostile files that no trusted key signed ---------------------------------------

QUADRATIC = b'{"name": "' + b'\\"' * 150_000  # a string regex backtracks on every quote
MIXED = b'{"dependencies": [' + b",".join([b"1", b'"a"', b"[]", b"{}"] * 40_000) + b"]}"
DEEP = b"[" * 200_000


def _unsigned(manifest: bytes) -> bytes:
    return pack([make_entry("plugin.json", manifest), make_entry("provider.py", b"")])


def _sparse_huge_directory(path: Path, size: int = 400 * 1024 * 1024) -> None:
    """A sparse file whose end record declares a central directory of ~400 MB."""
    import struct

    with open(path, "wb") as fh:
        fh.truncate(size)
        fh.seek(size - 22)
        fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, size - 22, 0, 0))


def _plant_hostile_files(folder: Path, attacker_key) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, manifest in (("quadratic", QUADRATIC), ("mixed", MIXED), ("deep", DEEP)):
        (folder / f"{name}.pepperplugin").write_bytes(_unsigned(manifest))
        signed = sign_raw([("plugin.json", manifest), ("provider.py", b"")], attacker_key)
        (folder / f"{name}-signed.pepperplugin").write_bytes(signed)
    _sparse_huge_directory(folder / "sparse.pepperplugin")


# The child's own peak (VmHWM belongs to its address space, which exec starts afresh);
# getrusage's ru_maxrss would also count the forked pytest process before exec.
PEAK = ("def _peak_kib():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n")


def _child(code: str, env_home: Path, plugin_path: Path, *, timeout: float = 60) -> str:
    # the searched folder under test only: not the checkout's dist_plugins/ (which
    # `make demo` fills with bundles of its own key)
    env = dict(os.environ, PEPPERPY_HOME=str(env_home), PEPPERPY_DEV="1",
               PEPPERPY_PLUGIN_PATH=str(plugin_path), PEPPERPY_AUTO_INSTALL="0",
               PEPPERPY_CHECKOUT_PLUGINS="0", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=timeout, cwd=plugin_path)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_hostile_unsigned_files_never_reach_a_parser(env):
    """Every searched folder full of bait (regex, uniqueItems, depth, sparse directory):
    discovery refuses each file on its signature entry and a trusted plugin still loads.
    Before verify-before-parse, the bait files stalled every load for minutes: the
    subprocess timeout is a hang guard, not a benchmark (bench/ measures the time)."""
    attacker = env.publisher("attacker", trusted=False)
    pub = env.publisher()
    shared = env.tmp / "shared"
    _plant_hostile_files(shared, attacker.key)
    _plant_hostile_files(env.settings.plugins_dir, attacker.key)
    env.write(shared, "echo.pepperplugin", env.bundle(pub))
    out = _child(
        "from pepperpy.plugins.manager import PluginManager\n"
        "from pepperpy.registry import ProviderRegistry\n"
        "m = PluginManager()\n"
        "p = ProviderRegistry(resolver=m).create('llm', 'echo', {'api_key': 'k'})\n"
        "print(type(p).__name__, sum(1 for f in m.discover() if f.problem))\n",
        env.settings.home, shared, timeout=30)
    assert out.split() == ["EchoProvider", "14"]


def test_refused_files_show_the_signature_check_not_their_claims(env):
    attacker = env.publisher("attacker", trusted=False)
    shared = env.tmp / "shared"
    env.write(shared, "claims.pepperplugin",
              env.bundle(attacker, name="echo", version="99.0.0"))
    from pepperpy.plugins.discovery import discover

    (found,) = discover(env.with_settings(dev_mode=True, plugin_path=(shared,)).settings)
    assert found.problem and attacker.key_id in found.problem
    assert found.refusal == "UntrustedPublisherError" and found.key_id == attacker.key_id
    assert (found.name, found.version, found.category, found.provider_name) == (None,) * 4


def test_plugin_list_memory_stays_bounded_with_hostile_files(env):
    """`plugin list` with a sparse 400 MB file declaring a huge central directory and the
    parser bait in its folders: peak memory stays under 64 MB (it read hundreds of MB
    before the directory size was checked against the entry count)."""
    attacker = env.publisher("attacker", trusted=False)
    shared = env.tmp / "shared"
    _plant_hostile_files(shared, attacker.key)
    out = _child(
        PEAK + "import sys, io, contextlib\n"
        "from pepperpy.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    main(['plugin', 'list'])\n"
        "print(_peak_kib())\n",
        env.settings.home, shared)
    peak_kib = int(out.split()[-1])
    assert peak_kib < 64 * 1024, f"peak RSS {peak_kib} KiB"


def test_sparse_huge_directory_is_refused_before_it_is_read(env, tmp_path: Path):
    import tracemalloc

    from pepperpy.bundle.trust import VerifiedCache
    from pepperpy.trust.gate import Trust, check
    from pepperpy.trust.types import TrustSnapshot

    path = tmp_path / "sparse.pepperplugin"
    _sparse_huge_directory(path)
    tracemalloc.start()
    try:
        with pytest.raises(BundleInvalidError, match="larger than its entries' names allow"):
            check(path, Trust(TrustSnapshot(), "empty", VerifiedCache(tmp_path / "v.json")))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"screen allocated {peak} bytes for a sparse file"


# -- the verified cache ----------------------------------------------------------------

CHILD_LOAD = (
    "import sys\n"
    "from pepperpy.plugins.manager import PluginManager\n"
    "assert PluginManager().resolve('llm', 'echo') is not None\n"
    "print(' '.join(m for m in ('cryptography', 'jsonschema', 'pydantic') if m in sys.modules)"
    " or 'none')\n"
)


def _install(env, data: bytes) -> Path:
    from pepperpy.plugins.install import install_bundle

    path = env.write(env.tmp / "incoming", "echo.pepperplugin", data)
    install_bundle(path, settings=env.settings)
    return path


def test_a_verified_install_loads_without_the_verifier(env):
    """The second process that loads an installed plugin imports none of cryptography,
    jsonschema or pydantic: the verified cache answers for the same digest and trust."""
    pub = env.publisher()
    _install(env, env.bundle(pub))
    empty = env.tmp / "empty"
    empty.mkdir()
    _child(CHILD_LOAD, env.settings.home, empty)  # fills the caches (or install did)
    assert _child(CHILD_LOAD, env.settings.home, empty).split() == ["none"]


def test_the_verified_cache_is_keyed_by_the_trust_store(env):
    """Revoking the key changes the trust fingerprint: the cached verification no
    longer counts, and the load is refused."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.core import RevokedError

    pub = env.publisher()
    _install(env, env.bundle(pub))
    env.registry().create("llm", "echo", {"api_key": "k"})
    TrustStore(env.settings.trust_file).revoke(pub.key_id)
    with pytest.raises(RevokedError):
        env.registry().create("llm", "echo", {"api_key": "k"})


def test_a_bundle_revoked_after_it_was_verified_and_cached_is_refused(env):
    """The cached verification names no revocation: revoking the bundle's digest
    changes the trust fingerprint, so the next load verifies again and refuses. (A key
    revocation is also caught by discovery's screen; a digest revocation only here.)"""
    import hashlib

    from pepperpy.bundle.trust import TrustStore
    from pepperpy.core import RevokedError

    data = env.bundle(env.publisher(), tag="cached")
    _install(env, data)
    digest = hashlib.sha256(data).hexdigest()
    env.registry().create("llm", "echo", {"api_key": "k"})
    assert digest in json.loads((env.settings.home / "verified.json").read_text())["entries"]
    TrustStore(env.settings.trust_file).revoke_bundle(digest)
    with pytest.raises(RevokedError):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert env.marker_lines() == ["cached"]  # imported once, before the revocation


def test_a_forged_cache_entry_for_other_bytes_is_never_used(env):
    """The cache is looked up by the digest of the bytes just read: rewriting an entry
    cannot make different bytes count as verified."""
    pub = env.publisher()
    stranger = env.publisher("stranger", trusted=False)
    _install(env, env.bundle(pub, tag="good"))
    env.registry().create("llm", "echo", {"api_key": "k"})
    cache_file = env.settings.home / "verified.json"
    cache = json.loads(cache_file.read_text())
    ((_digest, entry),) = cache["entries"].items()
    evil = env.bundle(stranger, tag="evil")
    installed = env.settings.plugins_dir / "echo.pepperplugin"
    installed.write_bytes(evil)
    import hashlib

    # Claim the attacker's bytes verified under the current trust, as the real entry did.
    cache["entries"][hashlib.sha256(evil).hexdigest()] = {**entry, "key_id": pub.key_id}
    cache_file.write_text(json.dumps(cache))
    with pytest.raises((InstallRefusedError, UntrustedPublisherError, BundleInvalidError)):
        env.registry().create("llm", "echo", {"api_key": "k"})
    assert "evil" not in env.marker_lines()


# -- the policy -------------------------------------------------------------------------


def test_fallback_to_the_next_usable_version_with_a_warning(env):
    """echo 2.0.0 needs a dependency that is missing (auto-install off); the trusted
    echo 1.0.0 still serves the provider, with a warning that says why."""
    from pepperpy.plugins.manager import PluginConflictWarning, PluginFallbackWarning

    pub = env.publisher()
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(first, "echo-1.pepperplugin", env.bundle(pub, version="1.0.0", tag="v1"))
    env.write(second, "echo-2.pepperplugin",
              env.bundle(pub, version="2.0.0", tag="v2",
                         dependencies=["pepperpy-no-such-package>=1"]))
    env = env.with_settings(dev_mode=True, plugin_path=(first, second))
    with pytest.warns(PluginFallbackWarning, match="pepperpy-no-such-package"):
        with pytest.warns(PluginConflictWarning):
            provider = env.registry().create("llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"
    assert env.marker_lines() == ["v1"]


def test_a_bundle_for_another_pepperpy_is_never_loaded(env):
    """Compatibility is checked at load too (not only at install): a newer bundle built
    for another PepperPy in a plugin folder never runs; the compatible one serves."""
    from pepperpy.core import PluginLoadError

    pub = env.publisher()
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(second, "echo-2.pepperplugin", env.bundle(
        pub, version="2.0.0", tag="v2", extra={"pepperpy_compatibility": ">=9.0"}))
    only_incompatible = env.with_settings(dev_mode=True, plugin_path=(second,))
    with pytest.raises(PluginLoadError, match=r"needs PepperPy >=9\.0"):
        only_incompatible.registry().create("llm", "echo", {"api_key": "k"})
    env.write(first, "echo-1.pepperplugin", env.bundle(pub, version="1.0.0", tag="v1"))
    provider = env.with_settings(dev_mode=True, plugin_path=(first, second)).registry().create(
        "llm", "echo", {"api_key": "k"})
    assert type(provider).version == "1.0.0"
    assert env.marker_lines() == ["v1"]


def test_unsigned_code_runs_only_from_folders_listed_for_developer_mode(tmp_path: Path):
    """Rule 7: a listed folder, or a plugin folder directly inside one; nothing else
    (not a sibling, not a folder two levels down, not with nothing listed)."""
    from pepperpy.plugins.devmode import unsigned_allowed

    dev = tmp_path / "dev"
    assert unsigned_allowed(dev, [dev])
    assert unsigned_allowed(dev / "echo", [dev])
    assert not unsigned_allowed(dev / "echo" / "inner", [dev])
    assert not unsigned_allowed(tmp_path / "other", [dev])
    assert not unsigned_allowed(tmp_path, [dev])
    assert not unsigned_allowed(dev, [])


def test_doctor_shows_the_broken_best_and_the_one_that_serves(env):
    from pepperpy.plugins.doctor import diagnose

    pub = env.publisher()
    first, second = env.tmp / "first", env.tmp / "second"
    env.write(first, "echo-1.pepperplugin", env.bundle(pub, version="1.0.0"))
    env.write(second, "echo-2.pepperplugin",
              env.bundle(pub, version="2.0.0", dependencies=["pepperpy-no-such-package>=1"]))
    dev = env.with_settings(dev_mode=True, plugin_path=(first, second))
    rows = {r.version: r for r in diagnose(dev.manager())}
    assert rows["2.0.0"].state == "missing-dependencies"
    assert "not used until this is fixed" in rows["2.0.0"].detail
    assert rows["1.0.0"].state == "ok"


@pytest.mark.parametrize("spec", [">=0.1,<0.2", ">=0.1.0", "<1", "==0.1", "!=0.1.0",
                                  ">0.0.9,<=0.1", ">=0.1.dev0", "~=0.1", "==0.*", ">=1"])
@pytest.mark.parametrize("version", ["0.1.0", "0.1", "0.2.0", "1.0", "0.1.1rc1"])
def test_compatibility_fast_path_is_pep_440(spec: str, version: str):
    from packaging.specifiers import SpecifierSet

    from pepperpy._versions import admits

    assert admits(spec, version) == SpecifierSet(spec).contains(version, prereleases=True)


def test_decisions_do_no_io(env):
    """The decisions (trust/authentic.py, trust/admissible.py, the install rule) promise
    no I/O: run them under an audit hook and see no file opened, no process started, no
    folder listed."""
    from pepperpy.plugins.install import install_action
    from pepperpy.trust import admissible as policy
    from pepperpy.trust.archive import parse_archive
    from pepperpy.trust.authentic import scan, verify_pass
    from pepperpy.trust.gate import verify_bundle
    from pepperpy.trust.types import InstallState

    pub = env.publisher()
    data = env.bundle(pub)
    snapshot, _ = __import__("pepperpy.bundle.trust", fromlist=["TrustStore"]).TrustStore(
        env.settings.trust_file).read()
    verify_bundle(data, snapshot)  # warm imports (importing reads files)
    events: list[str] = []
    watched = {"open", "os.listdir", "os.scandir", "subprocess.Popen", "os.system",
               "socket.connect", "os.remove", "os.rename"}

    def hook(event: str, _args: object) -> None:
        if event in watched:
            events.append(event)

    sys.addaudithook(hook)
    entries = tuple(parse_archive(data))
    verify_pass(scan(memoryview(data), entries, len(data)), entries, snapshot)
    verified = verify_bundle(data, snapshot)
    candidate = policy.Candidate(verified.manifest, verified.digest, verified.key_id,
                                 "x.pepperplugin", "plugin-path")
    policy.usable_here(candidate, InstallState({}), scopes=(), pepperpy_version="0.1.0")
    install_action(candidate, None, InstallState({}), scopes=(), pepperpy_version="0.1.0")
    hooked = list(events)
    events.clear()
    watched.clear()  # the hook stays installed for the process: make it inert
    assert hooked == []


# -- a read-only home -------------------------------------------------------------------


def test_a_read_only_home_loads_what_is_installed(env):
    """PEPPERPY_HOME mounted read-only (a container image): an installed, already
    verified plugin loads, and nothing raises a raw PermissionError or OSError."""
    pub = env.publisher()
    _install(env, env.bundle(pub))
    empty = env.tmp / "empty"
    empty.mkdir()
    _child(CHILD_LOAD, env.settings.home, empty)
    home = env.settings.home
    script = (f"mount --bind -o ro {home} {home} && touch {home}/probe 2>/dev/null; "
              f"test ! -e {home}/probe && exec {sys.executable} -c \"$CODE\"")
    out = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, CODE=CHILD_LOAD, PEPPERPY_HOME=str(home),
                 PEPPERPY_AUTO_INSTALL="0", PYTHONPATH=str(REPO)), cwd=empty)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["none"]


# -- keys trusted for some plugins only ------------------------------------------------


def test_a_key_trusted_only_for_some_plugins_signs_nothing_else(env):
    """`trust add --only echo`: the key's echo bundle installs and loads; the same key's
    bundle for another name is refused at install and never loads from a folder."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.plugins.install import install_bundle

    pub = env.publisher(trusted=False)
    TrustStore(env.settings.trust_file).add(pub.pub_pem(), publisher="acme", only=("echo",))
    _install(env, env.bundle(pub, tag="echo"))
    assert type(env.registry().create("llm", "echo", {"api_key": "k"})).__name__
    other = env.write(env.tmp / "incoming", "other.pepperplugin",
                      env.bundle(pub, name="other", provider_name="other", tag="other"))
    with pytest.raises(InstallRefusedError, match="trusted only for echo") as info:
        install_bundle(other, settings=env.settings)
    assert info.value.state == "not-allowed"  # type: ignore[attr-defined]
    folder_env = env.with_settings(dev_mode=True, plugin_path=(other.parent,))
    with pytest.raises(InstallRefusedError, match="trusted only for echo"):
        folder_env.registry().create("llm", "other", {"api_key": "k"})
    assert "other" not in env.marker_lines()


def test_trusting_a_restricted_key_again_without_only_lifts_the_restriction(env):
    from pepperpy.bundle.trust import TrustStore

    pub = env.publisher(trusted=False)
    store = TrustStore(env.settings.trust_file)
    assert store.add(pub.pub_pem(), publisher="acme", only=("echo",)).only == ("echo",)
    assert store.add(pub.pub_pem(), publisher="acme", only=("b",)).only == ("b", "echo")
    assert store.add(pub.pub_pem(), publisher="acme").only is None
    assert store.add(pub.pub_pem(), publisher="acme", only=("c",)).only is None


def test_a_key_trusted_for_a_plugin_slot_cannot_take_another_provider(env):
    """Keys imported from an index are trusted for `name@category/provider`: a bundle of
    that name declaring another provider (to win `with_llm("other")` by version) is
    refused; the listed slot loads."""
    from pepperpy.bundle.trust import TrustStore

    pub = env.publisher(trusted=False)
    TrustStore(env.settings.trust_file).add(pub.pub_pem(), publisher="acme",
                                            only=("echo@llm/echo",))
    shared = env.tmp / "shared"
    env.write(shared, "slot.pepperplugin",
              env.bundle(pub, provider_name="other", version="9.0.0", tag="grab"))
    folder_env = env.with_settings(dev_mode=True, plugin_path=(shared,))
    with pytest.raises(InstallRefusedError, match=r"\(llm/other\).*trusted only for"):
        folder_env.registry().create("llm", "other", {"api_key": "k"})
    assert "grab" not in env.marker_lines()
    env.write(shared, "slot.pepperplugin", env.bundle(pub, tag="ok"))
    provider = env.with_settings(dev_mode=True, plugin_path=(shared,)).registry().create(
        "llm", "echo", {"api_key": "k"})
    assert type(provider).__name__ == "EchoProvider"
