"""A loopback server speaking Anthropic's Messages API (``POST /v1/messages``).

The fake model is deterministic:

- ``tool_choice`` ``{"type": "tool", "name": N}``: a ``tool_use`` block for N whose
  input is built from N's ``input_schema`` (how structured output is forced);
- ``tools`` and no ``tool_result`` yet: a ``tool_use`` block for the first tool;
- after a ``tool_result``: ``"tool said: <its content>"``;
- models ``tool-chain`` and ``tool-loop``: the scripted tool loops of
  ``base.scripted_tool_turn`` (a text block, then a ``tool_use`` block);
- otherwise ``"Echo: <last user text>"``.

Streaming sends the real event sequence: message_start, content_block_start, ping,
content_block_delta (text_delta / input_json_delta), content_block_stop,
message_delta (stop_reason, usage), message_stop. Error modes by model name, as in
``openai_server``, with Anthropic's ``{"type": "error", "error": {...}}`` body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pepperpy.testing.wire.base import (
    LoopbackServer,
    RecordedRequest,
    Reply,
    count_words,
    example_for,
    image_problem,
    images_note,
    scripted_tool_turn,
    word_pieces,
)

__all__ = ["AnthropicServer"]

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content", "")))
    return " ".join(parts)


def _image_blocks_problem(body: dict[str, Any]) -> str | None:
    """Image blocks as Anthropic checks them: base64 source, known media type, user turn."""
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "image":
                continue
            source = block.get("source") or {}
            if message.get("role") != "user" or source.get("type") != "base64":
                return "messages: image blocks need a base64 source in a user turn"
            problem = image_problem(source.get("media_type"), source.get("data"))
            if problem:
                return f"messages: {problem}"
    return None


class AnthropicServer(LoopbackServer):
    """Fake ``https://api.anthropic.com``."""


    def route(self, request: RecordedRequest, reply: Reply) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST" or request.path != "/v1/messages":
            return self._error(reply, 404, f"Unknown path {request.path}.")
        if self._failed(str(body.get("model", "")), reply):
            return None
        if "max_tokens" not in body:
            return self._error(reply, 400, "max_tokens: Field required")
        problem = _image_blocks_problem(body)
        if problem:
            return self._error(reply, 400, problem)
        blocks = self._answer(body)
        if body.get("stream"):
            return reply.sse(self._events(body, blocks))
        has_tool = any(b["type"] == "tool_use" for b in blocks)
        reply.json(200, {
            "id": "msg_test", "type": "message", "role": "assistant",
            "model": body.get("model"), "content": blocks,
            "stop_reason": "tool_use" if has_tool else "end_turn", "stop_sequence": None,
            "usage": self._usage(body, blocks),
        })

    def _error(
        self, reply: Reply, status: int, message: str | None = None, *, headers: Any = None
    ) -> None:
        kind = _ERRORS.get(status, "api_error")
        payload = {"type": "error", "error": {"type": kind, "message": message or kind},
                   "request_id": "req_test"}
        reply.json(status, payload, headers={"request-id": "req_test", **(headers or {})})

    def _answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        tools = {t["name"]: t for t in body.get("tools") or []}
        choice = body.get("tool_choice") or {}
        messages = body.get("messages", [])
        last = messages[-1] if messages else {}
        content = last.get("content")
        answered = isinstance(content, list) and any(
            b.get("type") == "tool_result" for b in content
        )
        scripted = self._scripted(body)
        if scripted is not None:
            return scripted
        name = None
        if choice.get("type") == "tool":
            name = choice["name"]
        elif tools and not answered:
            name = next(iter(tools))
        if name is not None:
            schema = tools.get(name, {}).get("input_schema", {})
            return [{"type": "tool_use", "id": "toolu_1", "name": name,
                     "input": example_for(schema)}]
        prefix = "tool said: " if answered else "Echo: "
        images = [b["source"]["media_type"] for b in content or []
                  if isinstance(content, list) and b.get("type") == "image"]
        return [{"type": "text", "text": prefix + _text_of(content) + images_note(images)}]

    def _scripted(self, body: dict[str, Any]) -> list[dict[str, Any]] | None:
        messages = body.get("messages", [])
        tools = [(t["name"], t.get("input_schema", {})) for t in body.get("tools") or ()]
        blocks = [b for m in messages if isinstance(m.get("content"), list)
                  for b in m["content"]]
        called = [b["name"] for b in blocks if b.get("type") == "tool_use"]
        results = [_text_of(b.get("content", "")) for b in blocks
                   if b.get("type") == "tool_result"]
        turn = scripted_tool_turn(str(body.get("model")), tools, called,
                                  results[-1] if results else None)
        if turn is None:
            return None
        text, name, arguments = turn
        use = {"type": "tool_use", "id": f"toolu_{len(called) + 1}", "name": name,
               "input": arguments}
        return [{"type": "text", "text": text}, use] if text else [use]

    def _usage(self, body: dict[str, Any], blocks: list[Any]) -> dict[str, int]:
        prompt = count_words([m.get("content") for m in body.get("messages", [])])
        prompt += count_words(body.get("system", ""))
        output = count_words([b.get("text") or b.get("input") for b in blocks])
        return {"input_tokens": prompt, "output_tokens": output}

    def _events(self, body: dict[str, Any], blocks: list[dict[str, Any]]) -> Iterator[
        tuple[str, str]
    ]:
        def event(payload: dict[str, Any]) -> tuple[str, str]:
            return payload["type"], json.dumps(payload)

        usage = self._usage(body, blocks)
        yield event({"type": "message_start", "message": {
            "id": "msg_test", "type": "message", "role": "assistant", "content": [],
            "model": body.get("model"), "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                yield event({"type": "content_block_start", "index": index,
                             "content_block": {"type": "text", "text": ""}})
                yield event({"type": "ping"})
                for piece in word_pieces(block["text"]):
                    yield event({"type": "content_block_delta", "index": index,
                                 "delta": {"type": "text_delta", "text": piece}})
            else:
                yield event({"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
                raw = json.dumps(block["input"])
                step = max(1, len(raw) // 3)
                for start in range(0, len(raw), step):
                    yield event({"type": "content_block_delta", "index": index, "delta": {
                        "type": "input_json_delta", "partial_json": raw[start:start + step]}})
            yield event({"type": "content_block_stop", "index": index})
        has_tool = any(b["type"] == "tool_use" for b in blocks)
        yield event({"type": "message_delta",
                     "delta": {"stop_reason": "tool_use" if has_tool else "end_turn",
                               "stop_sequence": None},
                     "usage": {"output_tokens": usage["output_tokens"]}})
        yield event({"type": "message_stop"})
