"""examples/llm_example.py runs unchanged against each vendor's fake server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pepperpy_testing.wire.anthropic import AnthropicServer
from pepperpy_testing.wire.openai import OpenAIServer
from tests.llm.conftest import ROOT, base_url

KEY_ENV = {"openai": "OPENAI_API_KEY", "openrouter": "OPENROUTER_API_KEY",
           "anthropic": "ANTHROPIC_API_KEY"}


@pytest.mark.parametrize("vendor", ["openai", "openrouter", "anthropic"])
def test_example_runs(vendor: str, plugin_env: dict[str, str], clean_env: None,
                      openai_server: OpenAIServer, anthropic_server: AnthropicServer) -> None:
    server = anthropic_server if vendor == "anthropic" else openai_server
    env = {**os.environ, **plugin_env,
           "PEPPERPY_EXAMPLE_PROVIDER": vendor,
           "PEPPERPY_EXAMPLE_BASE_URL": base_url(vendor, server),
           "PEPPERPY_EXAMPLE_MODEL": "example-model",
           KEY_ENV[vendor]: "sk-example",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "llm_example.py")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Echo: Tell me about Python."
    body = server.last().body
    assert body["model"] == "example-model"
    if vendor == "anthropic":
        assert body["system"] == "You are a helpful assistant."
    else:
        assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
