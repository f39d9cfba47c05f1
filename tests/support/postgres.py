"""A throwaway PostgreSQL cluster for tests and benchmarks (initdb + pg_ctl).

How it runs, and why:
- the server binaries come from Debian's ``postgresql`` package (``initdb`` and
  ``pg_ctl`` on PATH, or ``/usr/lib/postgresql/<version>/bin``); when they are missing
  this fails loudly with the install command: never a skip;
- ``initdb`` refuses to run as root, so as root every server command runs as the
  ``postgres`` system user (created by that package) through ``runuser -u postgres --``,
  in a fresh ``/tmp`` folder chowned to it (pytest's tmp_path is root-only 0700);
- the cluster listens on 127.0.0.1 and a free port, with its unix socket in the same
  folder; local-socket connections are trusted, TCP connections need the password
  (scram-sha-256), so tests can exercise both a good and a refused login;
- ``stop()`` is idempotent and also registered with ``atexit``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["INSTALL_HINT", "PostgresCluster", "find_bindir", "free_port", "start_cluster"]

INSTALL_HINT = "apt-get update && apt-get install -y postgresql"
SUPERUSER = "pepperpy"
PASSWORD = "pepperpy-test-password"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl, or RuntimeError naming the install command."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; the PostgreSQL tests need "
        f"them. Install Debian's package: `{INSTALL_HINT}`"
    )


def _as_server_user() -> list[str]:
    """Command prefix that runs a server binary as a non-root user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise RuntimeError("running as root needs `runuser` (util-linux) to start PostgreSQL")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError(
            f"no `postgres` system user to run the server as; `{INSTALL_HINT}` creates it"
        ) from exc
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresCluster:
    """A running cluster; ``dsn()`` for a trusted socket login, ``tcp_dsn()`` with a password."""

    root: Path
    port: int
    bindir: Path
    prefix: list[str]
    dbname: str = "pepperpy_test"
    running: bool = field(default=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def dsn(self, dbname: str | None = None) -> str:
        """A libpq DSN over the unix socket (trust auth, no password)."""
        return (
            f"host={self.socket_dir} port={self.port} user={SUPERUSER} "
            f"dbname={dbname or self.dbname}"
        )

    def tcp_dsn(self, *, password: str = PASSWORD, dbname: str | None = None) -> str:
        """A URI over TCP on 127.0.0.1 (password auth)."""
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{dbname or self.dbname}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *args],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            timeout=120,
        )

    def stop(self) -> None:
        """Stop the server (fast) and delete its folder; safe to call twice."""
        if self.running:
            with contextlib.suppress(subprocess.SubprocessError):
                self.run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
                )
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def start_cluster(
    *, dbname: str = "pepperpy_test", settings: dict[str, str] | None = None
) -> PostgresCluster:
    """initdb, start on a free port, create ``dbname``; the caller must ``stop()``.

    ``settings`` are extra server options (``-c name=value``), e.g. ``fsync=off`` to
    speed up tests; benchmarks leave the durable defaults.
    """
    bindir = find_bindir()
    prefix = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pepperpy-pg-"))
    cluster = PostgresCluster(root, free_port(), bindir, prefix, dbname)
    try:
        pwfile = root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if prefix:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        cluster.run(
            str(bindir / "initdb"),
            "-D",
            str(cluster.datadir),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(cluster.socket_dir),
            "max_connections": "100",
            **(settings or {}),
        }
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        cluster.run(
            str(bindir / "pg_ctl"),
            "-D",
            str(cluster.datadir),
            "-l",
            str(root / "server.log"),
            "-o",
            f"-p {cluster.port} {opts}",
            "-w",
            "-t",
            "60",
            "start",
        )
        cluster.running = True
        atexit.register(cluster.stop)
        _create_database(cluster)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip()[-2000:]
        log = cluster.log()
        cluster.stop()
        raise RuntimeError(
            f"could not start a throwaway PostgreSQL ({' '.join(map(str, exc.cmd))}):\n"
            f"{detail}\n{log}"
        ) from exc
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _create_database(cluster: PostgresCluster) -> None:
    import psycopg

    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{cluster.dbname}"')
