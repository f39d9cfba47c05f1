"""A real ``chroma run`` server on a free 127.0.0.1 port, for tests and benchmarks.

The server is the ``chroma`` console script installed with chromadb next to the running
Python (``.venv/bin/chroma``). ``start_server`` waits for its heartbeat and ``stop()``
kills only the process it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.postgres import free_port

__all__ = ["ChromaServer", "chroma_command", "start_server"]


def chroma_command() -> str:
    """The ``chroma`` CLI of this environment, or RuntimeError with the install command."""
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError(
            "the `chroma` command (chromadb's server) is not installed in this environment; "
            f"run `{sys.executable} -m pip install 'chromadb>=1.0'`"
        )
    return found


@dataclass
class ChromaServer:
    """A running ``chroma run`` process serving ``path``."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    path: Path
    log_path: Path

    def stop(self) -> None:
        """Terminate the server (its whole process group) and wait for it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def _heartbeat(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/api/v2/heartbeat", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def start_server(path: Path, *, timeout: float = 60.0) -> ChromaServer:
    """Start ``chroma run --path PATH --host 127.0.0.1 --port N``; wait for its heartbeat."""
    host, port = "127.0.0.1", free_port()
    path.mkdir(parents=True, exist_ok=True)
    log_path = path.parent / f"chroma-server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [chroma_command(), "run", "--path", str(path), "--host", host, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    server = ChromaServer(process, host, port, path, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`chroma run` exited with {process.returncode}:\n{server.log()}")
        if _heartbeat(host, port):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"`chroma run` gave no heartbeat within {timeout}s:\n{server.log()}")
