"""Pytest fixtures that start the vendor fakes on free 127.0.0.1 ports.

Load with ``pytest_plugins = ["tests.servers.fixtures"]`` in a conftest. Each server
lives for one test, so its request log and attempt counters start empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pepperpy_testing.wire.anthropic import AnthropicServer
from pepperpy_testing.wire.openai import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server
