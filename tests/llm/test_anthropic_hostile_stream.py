"""A hostile or broken Anthropic-compatible server streaming a tool's input that is not
JSON: the stream fails with a ``ProviderError`` naming the tool (as the openai plugin's
does), never a ``JSONDecodeError`` or ``TypeError`` from inside the plugin, which no
caller catching ``PepperpyError`` (nor the CLI, nor a fallback chain) expects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.core import ProviderError
from pepperpy_testing.wire.anthropic import AnthropicServer


def _event(payload: dict[str, Any]) -> tuple[str, str]:
    return payload["type"], json.dumps(payload)


class _ToolInputServer(AnthropicServer):
    """Streams one ``tool_use`` block whose ``input_json_delta`` pieces are ``pieces``."""

    pieces: list[Any] = []

    def _events(self, body: dict[str, Any], blocks: list[dict[str, Any]]) -> Iterator[
        tuple[str, str]
    ]:
        yield _event({"type": "message_start", "message": {
            "id": "msg_test", "type": "message", "role": "assistant", "content": [],
            "model": "test-model", "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1}}})
        yield _event({"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}})
        for piece in self.pieces:
            yield _event({"type": "content_block_delta", "index": 0,
                          "delta": {"type": "input_json_delta", "partial_json": piece}})
        yield _event({"type": "content_block_stop", "index": 0})
        yield _event({"type": "message_delta", "delta": {"stop_reason": "tool_use",
                                                         "stop_sequence": None},
                      "usage": {"output_tokens": 4}})
        yield _event({"type": "message_stop"})


@pytest.mark.parametrize("pieces", [['{"city": ', '"Par'], ["[" * 100_000], ['{"a": 1}', 5]],
                         ids=["cut-short", "nested-past-the-recursion-limit", "not-text"])
async def test_a_tool_input_that_is_not_json_fails_the_stream_as_a_provider_error(
    make_pepper: Callable[..., PepperPy], pieces: list[Any]
) -> None:
    server = _ToolInputServer()
    server.pieces = pieces
    server.start()
    try:
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match="'lookup' that is not JSON") as caught:
                [c async for c in pepper.chat.with_user("weather?").stream()]
        assert caught.value.provider == "anthropic"
        server.pieces = ['{"city": ', '"Paris"}']  # the same stream, whole: a tool call
        async with make_pepper("anthropic", server) as pepper:
            chunks = [c async for c in pepper.chat.with_user("weather?").stream()]
        assert [(c.name, c.arguments) for c in chunks[-1].tool_calls] == [
            ("lookup", {"city": "Paris"})]
    finally:
        server.stop()
