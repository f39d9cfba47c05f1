"""MCP servers from the official SDK, run for real (stdio or loopback HTTP), and the
PepperPy objects that use them through the signed tools_mcp_provider bundle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.registry import ProviderRegistry
from tests.servers.fixtures import anthropic_server, openai_server

__all__ = ["anthropic_server", "openai_server"]

SERVER = Path(__file__).with_name("mcp_server.py")
API_KEY = "sk-test-SECRET-0123456789"


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """How to start the test MCP server: its stdio command and environment."""

    def __init__(self, tmp_path: Path) -> None:
        self.pidfile = tmp_path / f"mcp-{time.monotonic_ns()}.pid"

    def config(self, tools: str = "lookup", mode: str = "", **extra: Any) -> dict[str, Any]:
        env = {"TOOLS": tools, "PIDFILE": str(self.pidfile), "MODE": mode}
        return {"command": [sys.executable, str(SERVER)], "env": env, **extra}

    @property
    def pid(self) -> int:
        return int(self.pidfile.read_text())


@pytest.fixture
def mcp_server(tmp_path: Path) -> Callable[[], Server]:
    return lambda: Server(tmp_path)


@pytest.fixture
def http_mcp_server(tmp_path: Path) -> Iterator[str]:
    """An MCP server over streamable HTTP on a free loopback port; its URL."""
    yield from _http_server({})


@pytest.fixture
def token_mcp_server(tmp_path: Path) -> Iterator[str]:
    """The same, answering only requests with ``Authorization: Bearer MCP_TOKEN``."""
    yield from _http_server({"TOKEN": MCP_TOKEN})


MCP_TOKEN = "mcp-token-SECRET-42"


def _http_server(extra: dict[str, str]) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TOOLS": "lookup,shout", **extra}
    process = subprocess.Popen([sys.executable, str(SERVER), str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def make_pepper(session_plugin_registry: ProviderRegistry, openai_server: Any,
                anthropic_server: Any) -> Callable[..., PepperPy]:
    """``make_pepper(vendor="openai", model=...)``: PepperPy on a wire server."""

    def make(vendor: str = "openai", model: str = "test-model") -> PepperPy:
        server = anthropic_server if vendor == "anthropic" else openai_server
        url = server.url if vendor == "anthropic" else server.url + "/v1"
        return PepperPy(registry=session_plugin_registry).with_llm(
            vendor, api_key=API_KEY, base_url=url, model=model)

    return make
