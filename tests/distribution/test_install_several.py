"""``plugin install A B``: every bundle is verified and checked (trust, revocation,
rollback) before the first install starts, each exactly once; a refused B installs
nothing, and the message names B and why."""

from __future__ import annotations

import cProfile
import hashlib
import pstats
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def _installed() -> dict[str, str]:
    from pepperpy.plugins.state import load_state
    from pepperpy.settings import Settings

    return {n: r.version for n, r in load_state(Settings.from_env().state_file).plugins.items()}


def _serve(publisher: Publisher, server: IndexServer, *bundles: Path) -> None:
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    for bundle in bundles:
        assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0


def _stranger(tmp_path: Path, name: str) -> tuple[Path, Path, str]:
    """A bundle signed by a key the home does not trust, its public key file and id."""
    from pepperpy_testing.bundles import BundleFactory

    factory = BundleFactory(publisher="stranger")
    path = tmp_path / f"{name}-1.0.0.pepperplugin"
    fields = {"name": name, "version": "1.0.0", "provider_name": name,
              "entry_point": f"{name}_pkg:Provider"}
    path.write_bytes(factory.build(factory.files(manifest=fields)))
    pub = tmp_path / "stranger.pub"
    pub.write_bytes(factory.key.public_key.pem())
    return path, pub, factory.key.key_id


def _refused(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    before, plugins = _installed(), sorted(p.name for p in _plugins_dir().iterdir()) \
        if _plugins_dir().is_dir() else []
    assert run("plugin", "install", *argv) == 1
    said = capsys.readouterr()
    assert said.out == "", said.out  # nothing printed as installed
    assert _installed() == before
    now = sorted(p.name for p in _plugins_dir().iterdir()) if _plugins_dir().is_dir() else []
    assert now == plugins
    return said.err


def _plugins_dir() -> Path:
    from pepperpy.settings import Settings

    return Settings.from_env().plugins_dir


@pytest.mark.parametrize("why", ["untrusted", "revoked key", "revoked bundle", "rollback",
                                 "other bytes", "rollback in the command"])
def test_a_refused_second_file_installs_nothing_and_is_named(
        why: str, publisher: Publisher, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first = publisher.bundle("alpha", "1.0.0")
    second = publisher.bundle("beta", "1.0.0")
    if why == "untrusted":
        second = _stranger(tmp_path, "beta")[0]
        because = "which is not in the trust store"
    elif why == "revoked key":
        second, pub, key_id = _stranger(tmp_path, "beta")
        assert run("trust", "add", pub) == 0
        assert run("trust", "revoke", key_id) == 0
        because = "was revoked at"
    elif why == "revoked bundle":
        assert run("trust", "revoke-bundle",
                   hashlib.sha256(second.read_bytes()).hexdigest()) == 0
        because = "was revoked by the operator"
    elif why == "rollback":
        assert run("plugin", "install", publisher.bundle("beta", "2.0.0")) == 0
        second = publisher.bundle("beta", "1.0.0")
        because = "older"
    elif why == "other bytes":
        assert run("plugin", "install", second) == 0
        second = publisher.bundle("beta", "1.0.0", description="other bytes")
        because = "already installed with other bytes"
    else:
        first = publisher.bundle("beta", "2.0.0")
        because = "older"
    capsys.readouterr()
    err = _refused(capsys, first, second)
    assert because in err, err
    assert str(second) in err or "'beta'" in err, err  # B is named
    assert err.rstrip().endswith(f"nothing was installed (target {str(second)!r} was "
                                 "refused)"), err


def test_a_refused_name_after_a_good_one_installs_nothing(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("alpha", "1.0.0"),
           publisher.bundle("beta", "1.0.0"))
    digest = hashlib.sha256(
        (publisher.bundles / "beta-1.0.0.pepperplugin").read_bytes()).hexdigest()
    assert run("trust", "revoke-bundle", digest) == 0
    capsys.readouterr()
    err = _refused(capsys, "alpha", "beta")
    assert "beta-1.0.0.pepperplugin" in err and "was revoked by the operator" in err, err
    assert err.rstrip().endswith("nothing was installed (target 'beta' was refused)"), err
    err = _refused(capsys, "alpha", publisher.bundles / "beta-1.0.0.pepperplugin")
    assert "was revoked by the operator" in err, err  # a file after a name, too


def _signature_checks(*argv: object) -> tuple[int, int]:
    """The CLI's exit code, and how many ed25519 signature checks it made (read from a
    profile of the real command)."""
    profile = cProfile.Profile()
    code = profile.runcall(run, *argv)
    stats = pstats.Stats(profile)
    calls = sum(v[1] for k, v in stats.stats.items()  # type: ignore[attr-defined]
                if k[2] == "_signature_valid" and k[0].endswith("authentic.py"))
    return code, calls


def test_each_bundle_is_verified_once_by_file_and_by_name(
        publisher: Publisher, server: IndexServer, home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(publisher, server, publisher.bundle("alpha", "1.0.0"),
           publisher.bundle("beta", "1.0.0"))
    gamma = publisher.bundle("gamma", "1.0.0")
    capsys.readouterr()
    assert _signature_checks("plugin", "install", "alpha", "beta", gamma) == (0, 3)
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out] == [
        ["installed", "alpha"], ["installed", "beta"], ["installed", "gamma"]]
    assert _installed() == {"alpha": "1.0.0", "beta": "1.0.0", "gamma": "1.0.0"}


def test_the_trust_store_changed_after_the_check_is_checked_again(
        publisher: Publisher, home: Path, tmp_path: Path) -> None:
    """Between the check and the install another process revokes the signer: the install
    refuses it from the verified facts, without verifying the bytes again."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.core import RevokedError
    from pepperpy.plugins.install_plan import Plan, install_checked
    from pepperpy.settings import Settings

    settings = Settings.from_env()
    plan = Plan(settings)
    checked = plan.check_file(publisher.bundle("alpha", "1.0.0"))
    TrustStore(settings.trust_file).revoke(checked.verified.key_id)
    with pytest.raises(RevokedError, match="alpha-1.0.0.pepperplugin: key .* was revoked at .*"
                       r"\(the trust store changed after it was checked\)"):
        install_checked(checked, settings=settings)
    assert _installed() == {}
