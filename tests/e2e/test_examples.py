"""Every example that needs no API key runs, as a user would run it.

Examples run in a child process, in a scratch folder, loading the repo's plugins as
signed bundles (``plugin_env``). The tool-calling example needs a tool-capable
provider, so it runs against the loopback OpenAI-protocol server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.fixtures import openai_server  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(path: Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(path)], cwd=cwd, env={**os.environ, **env},
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("chat.py", "prompt +"),
        ("streaming.py", "chunks]"),
        ("structured_output.py", "year_built="),
        ("rag.py", "best match: harbor-lighthouse.md"),
        ("storage.py", "assistant:"),
    ],
)
def test_offline_example_runs(name: str, expect: str, plugin_env, tmp_path: Path) -> None:
    assert expect in run_example(EXAMPLES / name, tmp_path, plugin_env)


def test_tools_example_against_a_loopback_server(plugin_env, openai_server, tmp_path) -> None:  # noqa: F811
    env = {
        **plugin_env,
        "OPENAI_API_KEY": "sk-example",
        "OPENAI_BASE_URL": openai_server.url + "/v1",
    }
    out = run_example(EXAMPLES / "tools.py", tmp_path, env)
    assert "tool said: It is 21 degrees and sunny in" in out
    tools_sent = [r.body.get("tools") for r in openai_server.requests if r.body]
    assert tools_sent[0][0]["function"]["name"] == "get_weather"
    assert len(openai_server.requests) >= 2  # the tool result went back to the model


def test_third_party_plugin_example(tmp_path: Path) -> None:
    env = {"PEPPERPY_CHECKOUT_PLUGINS": "0"}
    out = run_example(EXAMPLES / "third_party_plugin" / "run.py", tmp_path, env)
    assert "SIGNED PLUGINS ARE FUN!!" in out
