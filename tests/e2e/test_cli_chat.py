"""`pepperpy chat`: one prompt from the terminal, streamed, through signed plugins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.servers.fixtures import openai_server  # noqa: F401


def pepperpy(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pepperpy", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )


def test_chat_streams_from_an_openai_compatible_server(plugin_env, openai_server) -> None:  # noqa: F811
    done = pepperpy(
        "chat", "Say hello", "--provider", "openai", "--model", "gpt-test",
        "--system", "Be brief.",
        "--option", f"base_url={openai_server.url}/v1", "--option", "api_key=sk-cli",
        "--option", "timeout=20",
        env=plugin_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    body = openai_server.last().body
    assert body["stream"] is True and body["model"] == "gpt-test"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


@pytest.mark.slow
def test_chat_with_the_local_model(plugin_env) -> None:
    done = pepperpy("chat", "Name a colour.", "--max-tokens", "16", env=plugin_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_chat_errors_are_one_line(plugin_env) -> None:
    done = pepperpy("chat", "hi", "--provider", "nope", env=plugin_env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("pepperpy: error: ")
    assert "Traceback" not in done.stderr
    done = pepperpy("chat", "hi", "--provider", "openai", env={**plugin_env, "OPENAI_API_KEY": ""})
    assert done.returncode == 1 and "OPENAI_API_KEY" in done.stderr
    done = pepperpy("chat", "hi", "--option", "nokeyvalue", env=plugin_env)
    assert done.returncode == 1 and "KEY=VALUE" in done.stderr
    done = pepperpy("chat", env=plugin_env)
    assert done.returncode == 2
