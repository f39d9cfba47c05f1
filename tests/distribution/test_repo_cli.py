"""What publishers read: `repo status`, the TUF key id from `keygen`, and `repo add`
messages that say what clients see and which key file is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run


def test_keygen_prints_the_tuf_key_id_that_status_and_errors_use(
        publisher: Publisher, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("keygen", "--publisher", "cron", "--out", tmp_path / "cron") == 0
    out = capsys.readouterr().out
    tuf_id = next(line.split()[3] for line in out.splitlines()
                  if line.startswith("TUF key id:"))
    cron = tmp_path / "cron" / "cron.key"
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key,
               "--timestamp-key", cron) == 0
    capsys.readouterr()
    assert run("repo", "status", publisher.folder, "--key", cron,
               "--key", tmp_path / "cron" / "cron.pub", "--key", publisher.repo_key) == 0
    status = capsys.readouterr().out
    assert f"key {tuf_id}  ({cron}, {tmp_path / 'cron' / 'cron.pub'})" in status
    assert "timestamp  version 1, expires 20" in status and "threshold 1" in status
    lines = status.splitlines()
    timestamp = lines.index(next(line for line in lines if line.startswith("timestamp")))
    assert tuf_id in lines[timestamp + 1]
    assert "targets    version 1" in status
    assert run("repo", "refresh", publisher.folder, "--key", publisher.repo_key) == 1
    err = capsys.readouterr().err
    assert f"its key: {tuf_id[:16]}" in err  # the error's id matches keygen's and status's


def test_repo_add_without_the_timestamp_key_says_what_clients_see(
        publisher: Publisher, server: IndexServer, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from pepperpy.bundle.keys import generate_key

    cron = generate_key(publisher="cron", out_dir=tmp_path / "cron").private_path
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key,
               "--timestamp-key", cron) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    capsys.readouterr()
    assert run("repo", "add", publisher.folder, publisher.bundle(),
               "--key", publisher.repo_key) == 0
    out = capsys.readouterr().out
    assert "clients keep seeing the previous snapshot (without this change) until you " \
           f"run `pepperpy repo refresh {publisher.folder} --key TIMESTAMP_KEYFILE`" in out
    assert "refuse" not in out
    assert run("plugin", "search", "--refresh") == 0  # true: the index still works
    assert "no plugin matches" in capsys.readouterr().out


def test_repo_add_of_an_untrusted_bundle_names_the_file_and_publisher_key(
        publisher: Publisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PEPPERPY_HOME", str(tmp_path / "empty-home"))
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    bundle = publisher.bundle()
    capsys.readouterr()
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 1
    err = capsys.readouterr().err
    assert f"{bundle} is signed by publisher key" in err
    assert "--publisher-key PUBFILE" in err and err.count("\n") == 1
