"""The real CLI in a subprocess: keygen, trust, plugin build/verify/inspect, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy.testing_bundles import replace_entry


@pytest.fixture
def cli(tmp_path: Path):
    home = tmp_path / "home"
    env = {**os.environ, "PEPPERPY_HOME": str(home)}
    env.pop("PEPPERPY_KEY_PASSPHRASE", None)

    def run(*args: str, code: int = 0,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "pepperpy", *args],
                              env={**env, **(extra_env or {})}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == code, (proc.stdout, proc.stderr)
        if code == 1:
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("pepperpy: error: "), proc.stderr
            assert "Traceback" not in proc.stderr
        return proc

    run.home = home  # type: ignore[attr-defined]
    return run


def _plugin_src(root: Path) -> Path:
    src = root / "src" / "hello"
    src.mkdir(parents=True)
    (src / "plugin.json").write_text(json.dumps({
        "name": "hello", "version": "0.3.0", "category": "llm", "provider_name": "hello",
        "entry_point": "hello:Hello"}))
    (src / "hello.py").write_text("class Hello:\n    pass\n")
    return src


def test_full_cli_flow(cli, tmp_path: Path) -> None:
    out = cli("keygen", "--publisher", "acme", "--out", str(tmp_path / "keys")).stdout
    key_id = out.split()[2]
    assert len(key_id) == 64
    key, pub = tmp_path / "keys" / "acme.key", tmp_path / "keys" / "acme.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE" not in out

    src = _plugin_src(tmp_path)
    built = Path(cli("plugin", "build", str(src), "--key", str(key), "--out",
                     str(tmp_path / "dist")).stdout.strip())
    assert built.name == "hello-0.3.0.pepperplugin"

    err = cli("plugin", "verify", str(built), code=1).stderr
    assert "not in the trust store" in err and "pepperpy trust add" in err
    report = json.loads(cli("plugin", "inspect", str(built), "--json").stdout)
    assert report["state"] == "untrusted" and report["key_id"] == key_id
    assert {f["name"] for f in report["files"]} == {"hello.py", "plugin.json"}

    cli("trust", "add", str(pub))
    listed = json.loads(cli("trust", "list", "--json").stdout)
    assert listed["keys"][0]["publisher"] == "acme"
    ok = cli("plugin", "verify", str(built)).stdout
    assert ok.startswith("OK hello 0.3.0 publisher=acme") and key_id in ok
    assert "state:     verified" in cli("plugin", "inspect", str(built)).stdout

    tampered = tmp_path / "tampered.pepperplugin"
    tampered.write_bytes(replace_entry(built.read_bytes(), "hello.py", b"import os\n"))
    assert "modified after signing" in cli("plugin", "verify", str(tampered), code=1).stderr

    digest = report["digest"]
    cli("trust", "revoke-bundle", digest)
    assert "revoked" in cli("plugin", "verify", str(built), code=1).stderr
    cli("trust", "revoke", key_id[:12])
    assert "revoked" in cli("plugin", "verify", str(built), code=1).stderr
    assert "kept as revoked" in cli("trust", "remove", key_id).stdout
    cli("trust", "add", str(pub))  # re-adding a revoked key keeps it revoked
    assert "revoked" in cli("plugin", "verify", str(built), code=1).stderr


def test_remove_key(cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "p", "--out", str(tmp_path))
    cli("trust", "add", str(tmp_path / "p.pub"), "--publisher", "Pat")
    key_id = json.loads(cli("trust", "list", "--json").stdout)["keys"][0]["key_id"]
    cli("trust", "remove", key_id[:8])
    assert json.loads(cli("trust", "list", "--json").stdout)["keys"] == []
    # removing it again is a retry: done already (a prefix that matches nothing is an error)
    assert "nothing to remove" in cli("trust", "remove", key_id).stdout
    assert "no key" in cli("trust", "remove", key_id[:8], code=1).stderr


def test_usage_errors_exit_2(cli) -> None:
    cli("trust", code=2)
    cli("plugin", "verify", code=2)
    cli("keygen", code=2)


def test_corrupt_trust_store(cli, tmp_path: Path) -> None:
    cli.home.mkdir()
    (cli.home / "trust.json").write_text("{not json")
    err = cli("trust", "list", code=1).stderr
    assert "not valid JSON" in err and "trust.json" in err
    for text, says in (('{"version": 99, "keys": {}}', "no supported version"),
                       ('{"version": 1, "keys": []}', "corrupt"),
                       ('{"version": 1, "keys": {"' + "a" * 64 + '": {}}}', "corrupt")):
        (cli.home / "trust.json").write_text(text)
        err = cli("trust", "list", code=1).stderr
        assert says in err and "trust.json" in err, text


def test_not_a_bundle_and_missing_file(cli, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pepperplugin"
    junk.write_bytes(b"hello world, not a zip at all")
    assert "bundle refused" in cli("plugin", "verify", str(junk), code=1).stderr
    assert "cannot read" in cli("plugin", "verify", str(tmp_path / "nope"), code=1).stderr


def test_weak_key_refused_by_trust_add(cli, tmp_path: Path) -> None:
    import base64

    der = bytes.fromhex("302a300506032b6570032100") + (1).to_bytes(32, "little")
    pem = ("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode()
           + "\n-----END PUBLIC KEY-----\n")
    (tmp_path / "evil.pub").write_text(pem)
    assert "small-order" in cli("trust", "add", str(tmp_path / "evil.pub"), code=1).stderr


def test_build_all_and_passphrase(cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "enc", "--out", str(tmp_path), "--passphrase-env", "MY_PASS",
        extra_env={"MY_PASS": "hunter2"})
    _plugin_src(tmp_path)
    build = ("plugin", "build", "--all", "--src", str(tmp_path / "src"), "--key",
             str(tmp_path / "enc.key"), "--out", str(tmp_path / "dist"))
    assert "PEPPERPY_KEY_PASSPHRASE" in cli(*build, code=1).stderr
    out = cli(*build, extra_env={"PEPPERPY_KEY_PASSPHRASE": "hunter2"}).stdout
    assert out.strip().endswith("hello-0.3.0.pepperplugin")
    assert "hunter2" not in out


def test_inspect_untrusted_bundle_prints_no_terminal_control_characters(cli, tmp_path: Path
                                                                        ) -> None:
    """An unverified manifest is attacker text: `plugin inspect` escapes every
    non-printable character (ANSI/OSC escapes could fake the 'state:' line)."""
    from pepperpy.testing_bundles import BundleFactory

    evil = "x\x1b[1A\r\x1b[2Kstate:     verified\x1b]52;c;cm0gLXJmIH4=\x07"
    attacker = BundleFactory(publisher="attacker")  # never trusted
    files = attacker.files(manifest={"name": evil, "dependencies": ["a\x1b[8m"]})
    path = tmp_path / "evil.pepperplugin"
    path.write_bytes(attacker.build_raw(files))
    out = cli("plugin", "inspect", str(path)).stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "did not verify" in out and "x\\x1b" not in out  # claims are not even shown
    out = cli("plugin", "inspect", str(path), "--unverified").stdout
    assert "UNVERIFIED" in out and "x\\u001b[1A" in out  # shown escaped, marked
    assert "\x1b" not in out and "\x07" not in out


def test_inspect_shows_an_unverified_manifest_of_any_shape(cli, tmp_path: Path) -> None:
    """`dependencies` as a number (or any type) in an untrusted bundle: one report, exit
    0, never a traceback; without --unverified its manifest is not parsed at all."""
    from pepperpy.testing_bundles import BundleFactory

    attacker = BundleFactory(publisher="attacker")
    files = attacker.files(manifest={"dependencies": 7, "name": ["x"] * 3})
    path = tmp_path / "odd.pepperplugin"
    path.write_bytes(attacker.build_raw(files))
    for extra in ((), ("--unverified",), ("--unverified", "--json")):
        result = cli("plugin", "inspect", str(path), *extra)
        assert "Traceback" not in result.stderr and "untrusted" in result.stdout
    report = json.loads(cli("plugin", "inspect", str(path), "--unverified", "--json").stdout)
    assert report["manifest"] is None
    assert report["unverified_manifest"]["value"]["dependencies"] == 7


def test_build_and_keygen_with_out_pointing_at_a_file_is_one_line_error(
    cli, tmp_path: Path
) -> None:
    """`--out FILE` where FILE exists: exit 1 with one line, not a FileExistsError."""
    cli("keygen", "--publisher", "acme", "--out", str(tmp_path / "keys"))
    src = _plugin_src(tmp_path)
    out = tmp_path / "dist.pepperplugin"
    out.write_text("not a folder")
    cli("plugin", "build", str(src), "--key", str(tmp_path / "keys" / "acme.key"),
        "--out", str(out), code=1)
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("x")
    cli("keygen", "--publisher", "acme", "--out", str(keys_file), code=1)


def test_bad_uv_timeout_setting_is_a_configuration_error(cli) -> None:
    """PEPPERPY_UV_TIMEOUT=30s is one line naming the variable, not a ValueError."""
    err = cli("plugin", "list", code=1, extra_env={"PEPPERPY_UV_TIMEOUT": "30s"}).stderr
    assert "PEPPERPY_UV_TIMEOUT" in err


def test_inspect_reports_a_tampered_entry_instead_of_failing(cli, tmp_path: Path) -> None:
    """A modified entry with a stale CRC: inspect still reports (state "invalid", the
    reason, and the file's problem) instead of exiting 1 with no report."""
    from pepperpy.testing_bundles import BundleFactory

    factory = BundleFactory()
    factory.trust(cli.home)
    bad = replace_entry(factory.build(), "sample.py",
                        b"class SampleProvider: pass  # evil\n", fix_crc=False)
    path = tmp_path / "bad.pepperplugin"
    path.write_bytes(bad)
    report = json.loads(cli("plugin", "inspect", str(path), "--json").stdout)
    assert report["state"] == "invalid"
    assert "modified after signing" in report["reason"]
    problems = {f["name"]: f.get("problem") for f in report["files"]}
    assert "CRC-32" in problems["sample.py"]
    assert report["manifest"] is None  # refused: its claims are not shown by default
    report = json.loads(cli("plugin", "inspect", str(path), "--unverified", "--json").stdout)
    assert report["unverified_manifest"]["value"]["name"] == "sample"
    text = cli("plugin", "inspect", str(path)).stdout
    assert "state:     invalid" in text and "PROBLEM" in text


def test_trust_add_scope_is_stored_and_listed(cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "b", "--out", str(tmp_path / "keys"))
    cli("trust", "add", str(tmp_path / "keys" / "b.pub"), "--scope", "echo")
    assert "scopes=echo" in cli("trust", "list").stdout


def test_fifo_named_like_a_bundle_is_refused_without_blocking(cli, tmp_path: Path) -> None:
    fifo = tmp_path / "evil.pepperplugin"
    os.mkfifo(fifo)
    for command in ("verify", "inspect"):
        assert "not a regular file" in cli("plugin", command, str(fifo), code=1).stderr


def test_build_refuses_a_same_version_bundle_with_other_bytes(cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "acme", "--out", str(tmp_path / "keys"))
    key = str(tmp_path / "keys" / "acme.key")
    src = _plugin_src(tmp_path)
    dist = str(tmp_path / "dist")
    built = Path(cli("plugin", "build", str(src), "--key", key, "--out", dist).stdout.strip())
    first = built.read_bytes()
    cli("plugin", "build", str(src), "--key", key, "--out", dist)  # same bytes: fine
    (src / "hello.py").write_text("class Hello:\n    changed = True\n")
    err = cli("plugin", "build", str(src), "--key", key, "--out", dist, code=1).stderr
    assert "hello-0.3.0.pepperplugin already exists with other bytes" in err
    assert "bump \"version\" in plugin.json (e.g. 0.3.1)" in err and "--force" in err
    assert built.read_bytes() == first  # nothing replaced
    cli("plugin", "build", str(src), "--key", key, "--out", dist, "--force")
    assert built.read_bytes() != first


def test_verify_against_a_public_key_file_leaves_the_trust_store_alone(
        cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "acme", "--out", str(tmp_path / "keys"))
    cli("keygen", "--publisher", "other", "--out", str(tmp_path / "keys"))
    src = _plugin_src(tmp_path)
    built = cli("plugin", "build", str(src), "--key", str(tmp_path / "keys" / "acme.key"),
                "--out", str(tmp_path / "dist")).stdout.strip()
    out = cli("plugin", "verify", built, "--key", str(tmp_path / "keys" / "acme.pub")).stdout
    assert out.startswith("OK hello 0.3.0") and "not the trust store" in out
    assert not (cli.home / "trust.json").exists()  # type: ignore[attr-defined]
    err = cli("plugin", "verify", built, "--key", str(tmp_path / "keys" / "other.pub"),
              code=1).stderr
    assert "not by the key in" in err and "other.pub" in err
    cli("plugin", "verify", built, "--key", str(tmp_path / "missing.pub"), code=1)


def test_author_files_never_enter_a_bundle(cli, tmp_path: Path) -> None:
    cli("keygen", "--publisher", "acme", "--out", str(tmp_path / "keys"))
    src = _plugin_src(tmp_path)
    (src / "README.md").write_text("# hello\n")
    (src / "AGENTS.md").write_text("rules for the author's tools\n")
    (src / "tests").mkdir()
    (src / "tests" / "test_hello.py").write_text("def test_x():\n    pass\n")
    (src / "conftest.py").write_text("")
    built = cli("plugin", "build", str(src), "--key", str(tmp_path / "keys" / "acme.key"),
                "--out", str(tmp_path / "dist")).stdout.strip()
    report = json.loads(cli("plugin", "inspect", built, "--json", "--unverified").stdout)
    assert {f["name"] for f in report["files"]} == {"hello.py", "plugin.json", "README.md"}
