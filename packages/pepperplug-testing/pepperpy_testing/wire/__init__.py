"""Loopback servers that speak vendors' wire protocols, for testing providers without keys.

Each server runs on 127.0.0.1 in a background thread and answers what the real SDK
sends (JSON and SSE), records every request, and can be told to fail, so a plugin that
talks to OpenAI-compatible or Anthropic endpoints is tested through its real SDK:

    from pepperpy_testing.wire import OpenAIServer

    with OpenAIServer() as server:
        config = {"api_key": "test-key", "base_url": server.url + "/v1"}
"""

from __future__ import annotations

from pepperpy_testing.wire.anthropic import AnthropicServer
from pepperpy_testing.wire.base import Fault, LoopbackServer, RecordedRequest, Reply
from pepperpy_testing.wire.openai import OpenAIServer

__all__ = ["AnthropicServer", "Fault", "LoopbackServer", "OpenAIServer", "RecordedRequest", "Reply"]
