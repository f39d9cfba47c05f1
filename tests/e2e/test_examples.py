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


@pytest.mark.parametrize(("name", "expect"), [
    ("chat.py", "Echo: Name one use of a lighthouse."), ("streaming.py", "chunks]"),
    ("structured_output.py", "year_built="), ("storage.py", "assistant:"),
    ("llm_example.py", "Echo: Tell me about Python.")])
def test_examples_run_with_any_installed_llm(name: str, expect: str, plugin_env, openai_server,  # noqa: F811
                                             tmp_path: Path) -> None:
    env = {**plugin_env, "PEPPERPY_EXAMPLE_PROVIDER": "openai", "OPENAI_API_KEY": "sk-ex",
           "OPENAI_BASE_URL": openai_server.url + "/v1"}
    done = subprocess.run([sys.executable, "-W", "always", str(EXAMPLES / name)], cwd=tmp_path,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expect in done.stdout
    assert "Warning" not in done.stderr  # no PluginConflictWarning, nothing else either
    assert openai_server.requests[0].body["max_tokens"] > 0  # the example's max_tokens


def test_identical_copies_in_two_folders_warn_nothing(plugin_env, openai_server,  # noqa: F811
                                                      tmp_path: Path) -> None:
    """After `make demo` the installed bundles and dist_plugins/ hold the same bytes."""
    import shutil

    folders = [Path(p) for p in plugin_env["PEPPERPY_PLUGIN_PATH"].split(os.pathsep)]
    copy = tmp_path / "copy"
    shutil.copytree(folders[0], copy)
    env = {**plugin_env, "PEPPERPY_PLUGIN_PATH": os.pathsep.join(map(str, [*folders, copy])),
           "PEPPERPY_EXAMPLE_PROVIDER": "openai", "OPENAI_API_KEY": "sk-ex",
           "OPENAI_BASE_URL": openai_server.url + "/v1"}
    done = subprocess.run([sys.executable, "-W", "always", str(EXAMPLES / "chat.py")],
                          cwd=tmp_path, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PluginConflictWarning" not in done.stderr
