"""A loopback server speaking OpenAI's HTTP API (chat completions and embeddings).

The fake model is deterministic so tests can assert exact answers:

- with ``response_format`` json_schema: the content is JSON built from the schema;
- with ``tools`` and no tool result yet: it calls the first tool (arguments built
  from the tool's parameter schema), ``finish_reason="tool_calls"``;
- after a ``tool`` message: ``"tool said: <that message's content>"``;
- models ``tool-chain`` and ``tool-loop``: the scripted tool loops of
  ``base.scripted_tool_turn`` (text, then a tool call, in one streamed turn);
- otherwise: ``"Echo: <last user message>"``.

Error modes are chosen by the model name (so they work through any client):
``error-400|401|403|404|429|500`` answer that status with OpenAI's error body,
``flaky-429`` fails once with 429 and then succeeds, ``slow`` sleeps longer than the
client timeout. 429s carry ``retry-after-ms`` (``retry_after_ms``) and
``retry-after``; ``attempts[model]`` counts every try.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
import time
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

__all__ = ["OpenAIServer", "fake_embedding"]

_ERRORS = {
    400: ("invalid_request_error", "invalid_value", "Invalid value for 'messages'."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-te***st."),
    403: ("invalid_request_error", "unsupported_country", "Not allowed."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
}


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """The unit vector the server returns for ``text`` (seeded by its SHA-256)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    vec = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    # Round-trip through float32 so base64 and float encodings agree exactly.
    return list(struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *(
        v / norm for v in vec
    ))))


def _image_parts_problem(body: dict[str, Any]) -> str | None:
    """Content parts as OpenAI checks them: text, or image_url with a data URL."""
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind != "image_url" or message.get("role") != "user":
                return f"Invalid content part {kind!r} for role {message.get('role')!r}."
            url = (part.get("image_url") or {}).get("url", "")
            head, sep, data = str(url).partition(";base64,")
            if not url.startswith("data:") or not sep:
                return "Invalid image_url: expected a data URL (data:image/...;base64,...)."
            problem = image_problem(head[5:], data)
            if problem:
                return problem
    return None


class OpenAIServer(LoopbackServer):
    """Fake ``https://api.openai.com`` (mount point ``/v1``)."""


    def route(self, request: RecordedRequest, reply: Reply) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return self._error(reply, 404, "Unknown path.")
        model = str(body.get("model", ""))
        if self._failed(model, reply):
            return None
        if request.path == "/v1/chat/completions":
            problem = _image_parts_problem(body)
            if problem:
                return self._error(reply, 400, problem)
            return self._chat(body, reply)
        if request.path == "/v1/embeddings":
            return self._embeddings(body, reply)
        return self._error(reply, 404, f"Unknown path {request.path}.")

    # -- error modes -------------------------------------------------------------------
    def _error(
        self, reply: Reply, status: int, message: str | None = None, *, headers: Any = None
    ) -> None:
        kind, code, default = _ERRORS.get(status, ("server_error", None, "Error."))
        payload = {"error": {"message": message or default, "type": kind, "param": None,
                             "code": code}}
        reply.json(status, payload, headers=headers)

    # -- chat ----------------------------------------------------------------------------
    def _answer(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The fake model: (content, tool_calls)."""
        messages = body.get("messages", [])
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return json.dumps(example_for(fmt["json_schema"].get("schema", {}))), []
        last = messages[-1] if messages else {}
        scripted = self._scripted(body)
        if scripted is not None:
            return scripted
        if body.get("tools") and last.get("role") != "tool":
            fn = body["tools"][0]["function"]
            args = json.dumps(example_for(fn.get("parameters", {})))
            return "", [{"id": "call_1", "type": "function",
                         "function": {"name": fn["name"], "arguments": args}}]
        if last.get("role") == "tool":
            return f"tool said: {last.get('content')}", []
        users = [m for m in messages if m.get("role") == "user"]
        text = users[-1].get("content", "") if users else ""
        images: list[str] = []
        if isinstance(text, list):  # content parts
            images = [p["image_url"]["url"].split(";")[0][5:] for p in text
                      if isinstance(p, dict) and p.get("type") == "image_url"]
            text = " ".join(p["text"] for p in text
                            if isinstance(p, dict) and p.get("type") == "text")
        return f"Echo: {text}{images_note(images)}", []

    def _scripted(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
        messages = body.get("messages", [])
        tools = [(t["function"]["name"], t["function"].get("parameters", {}))
                 for t in body.get("tools") or ()]
        called = [c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()]
        results = [m.get("content") for m in messages if m.get("role") == "tool"]
        turn = scripted_tool_turn(str(body.get("model")), tools, called,
                                  results[-1] if results else None)
        if turn is None:
            return None
        text, name, arguments = turn
        call_id = f"call_{len(called) + 1}"
        return text, [{"id": call_id, "type": "function",
                       "function": {"name": name, "arguments": json.dumps(arguments)}}]

    def _usage(self, body: dict[str, Any], content: str, calls: list[Any]) -> dict[str, int]:
        prompt = count_words([m.get("content") for m in body.get("messages", [])])
        completion = count_words(content) + count_words(calls)
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def _chat(self, body: dict[str, Any], reply: Reply) -> None:
        content, calls = self._answer(body)
        if body.get("stream"):
            return reply.sse((None, data) for data in self._chunks(body, content, calls))
        message: dict[str, Any] = {"role": "assistant", "content": content or None,
                                   "refusal": None}
        if calls:
            message["tool_calls"] = calls
        reply.json(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model"), "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": self._usage(body, content, calls),
        })

    def _chunks(self, body: dict[str, Any], content: str, calls: list[Any]) -> Iterator[str]:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model"),
                "system_fingerprint": "fp_test"}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return json.dumps({**base, "choices": [choice]})

        yield chunk({"role": "assistant", "content": ""})
        if content:
            for piece in word_pieces(content):
                yield chunk({"content": piece})
        for index, call in enumerate(calls):
            args = call["function"]["arguments"]
            yield chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                         "function": {"name": call["function"]["name"],
                                                      "arguments": ""}}]})
            step = max(1, len(args) // 3)
            for start in range(0, len(args), step):
                yield chunk({"tool_calls": [{"index": index, "function": {
                    "arguments": args[start:start + step]}}]})
        yield chunk({}, "tool_calls" if calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            yield json.dumps({**base, "choices": [], "usage": self._usage(body, content, calls)})
        yield "[DONE]"

    # -- embeddings --------------------------------------------------------------------
    def _embeddings(self, body: dict[str, Any], reply: Reply) -> None:
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        dims = int(body.get("dimensions") or 1536)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vec = fake_embedding(str(text), dims)
            value: Any = vec
            if as_base64:
                value = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": index, "embedding": value})
        tokens = count_words(texts)
        reply.json(200, {"object": "list", "data": data, "model": body.get("model"),
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
