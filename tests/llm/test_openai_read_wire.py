"""The OpenAI-compatible provider reads the answer itself (the JSON body, the server-sent
events) while the SDK sends the request: the same server answer, read by the raw SDK's
model objects the way the provider read them before and read by the provider, must give
the same result field by field. Over the answer shapes a provider meets (text, refusals,
one or several tool calls streamed in pieces, structured output, usage, finish reasons,
ids, error objects) and over generated streams cut at random byte boundaries by the
server, with CRLF or CR line ends, comments, named and unknown events, ``id``/``retry``
lines and data split over several lines. Then what the SDK's objects let through as a
wrong type or shape (or a bare ``KeyError``/``TypeError``/``JSONDecodeError``) is a
``ProviderError`` naming it, and a stream given up early closes its connection."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import openai
import pytest

from pepperpy import GenerationOptions, Message, MessageRole, ResponseFormat, ToolCall
from pepperpy.core import BadRequestError, ProviderError, RateLimitError, ServerError
from pepperpy.openai_compatible import OpenAIChatProvider, translate_error
from pepperpy.openai_compatible.chat import _unwrap
from pepperpy_testing.wire.base import LoopbackServer, RecordedRequest, Reply

KEY = "sk-test-SECRET-0123456789"
HI = [Message(MessageRole.USER, "hi")]
LIST_SCHEMA = ResponseFormat("numbers", {"type": "array", "items": {"type": "integer"}})


class _Scripted(LoopbackServer):
    """Answers every request with ``pieces`` (each its own HTTP chunk), whatever it asks;
    records the client's port per request; ``cut`` drops the connection after the pieces,
    ``hold`` keeps it open until the client closes it (``closed`` is set then)."""

    status = 200
    content_type = "application/json"
    headers: dict[str, str] = {}

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[bytes] = []
        self.ports: list[int] = []
        self.hold = self.cut = False
        self.closed = threading.Event()

    def _error(self, reply: Reply, status: int, message: str | None = None, *,
               headers: Any = None) -> None:
        reply.json(status, {"error": {"message": message or "Error.", "type": "server_error"}})

    def route(self, request: RecordedRequest, reply: Reply) -> None:
        handler = reply._handler
        self.ports.append(handler.client_address[1])
        if not (self.hold or self.cut):
            return reply.pieces(self.status, self.content_type, self.pieces, self.headers)
        reply.open_chunked(200, self.content_type)
        for piece in self.pieces:
            reply.write_chunk(piece)
        handler.close_connection = True
        if self.cut:
            handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        handler.connection.settimeout(5)
        try:  # the client reads no more: wait for it to close the connection
            if handler.connection.recv(1) == b"":
                self.closed.set()
        except OSError:
            pass
        return None

    def answer(self, body: Any) -> None:
        self.content_type = "application/json"
        self.pieces = [json.dumps(body).encode()]

    def stream(self, body: bytes, rng: random.Random | None = None) -> None:
        self.content_type = "text/event-stream"
        self.pieces = _cut(body, rng) if rng else [body]


def _cut(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 40))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


@pytest.fixture
def server() -> Iterator[_Scripted]:
    scripted = _Scripted()
    with scripted:
        yield scripted


@pytest.fixture
async def both(server: _Scripted) -> AsyncIterator[tuple[openai.AsyncOpenAI, OpenAIChatProvider]]:
    """The raw SDK and the provider, each with its own client to the same server."""
    url = server.url + "/v1"
    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0)
    provider = OpenAIChatProvider(api_key=KEY, model="m", base_url=url)
    await provider.initialize()
    yield client, provider
    await provider.cleanup()
    await client.close()


# -- what the provider made of the SDK's model objects before it read the wire ----------
def _arguments(raw: Any) -> dict[str, Any]:
    value = json.loads(raw or "{}")
    return value if isinstance(value, dict) else {"value": value}


def _error(exc: Exception) -> tuple[type, str, bool]:
    if isinstance(exc, openai.OpenAIError):
        exc = translate_error(exc, provider="openai", key_env="OPENAI_API_KEY", model="m",
                              secret=KEY)
    return type(exc), str(exc), getattr(exc, "retryable", False)


async def _sdk_generate(client: openai.AsyncOpenAI, options: GenerationOptions) -> Any:
    try:
        completion = await client.chat.completions.create(model="m", messages=[
            {"role": "user", "content": "hi"}])
    except Exception as exc:
        return _error(exc)
    choice = completion.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(c.id, c.function.name, _arguments(c.function.arguments))  # type: ignore[union-attr]
        for c in message.tool_calls if c.type == "function"
    ) if message.tool_calls else ()
    metadata: dict[str, Any] = {"id": completion.id}
    if getattr(message, "refusal", None):
        metadata["refusal"] = message.refusal
    content = message.content or ""
    usage = completion.usage
    return (content if options.response_format is None else _unwrap(content, options), calls,
            choice.finish_reason, completion.model,
            (usage.prompt_tokens, usage.completion_tokens) if usage else None, metadata)


async def _our_generate(provider: OpenAIChatProvider, options: GenerationOptions) -> Any:
    try:
        r = await provider.generate(HI, options)
    except Exception as exc:
        return _error(exc)
    usage = (r.usage.prompt_tokens, r.usage.completion_tokens) if r.usage else None
    return r.content, r.tool_calls, r.finish_reason, r.model, usage, r.metadata


async def _sdk_stream(client: openai.AsyncOpenAI) -> Any:
    pieces: list[str] = []
    calls: dict[Any, dict[str, Any]] = {}
    finish = usage = None
    try:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        async for chunk in stream:
            if chunk.usage is not None:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or ():
                merged = calls.setdefault(call.index, {"id": "", "name": "", "args": []})
                if call.id:
                    merged["id"] = call.id
                if call.function is not None:
                    if call.function.name:
                        merged["name"] = call.function.name
                    if call.function.arguments:
                        merged["args"].append(call.function.arguments)
            if choice.delta.content:
                pieces.append(choice.delta.content)
    except Exception as exc:
        return pieces, _error(exc)
    tool_calls = tuple(ToolCall(c["id"], c["name"], _arguments("".join(c["args"])))
                       for _, c in sorted(calls.items()))
    return pieces, (finish or "stop", tool_calls, usage)


async def _our_stream(provider: OpenAIChatProvider) -> Any:
    pieces: list[str] = []
    try:
        async for chunk in provider.generate_stream(HI, GenerationOptions()):
            if chunk.finish_reason is None:
                assert chunk.provider == provider.provider_name and chunk.kind == "text"
                pieces.append(chunk.content)
                continue
            usage = chunk.usage and (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            last = (chunk.finish_reason, chunk.tool_calls, usage)
    except Exception as exc:
        return pieces, _error(exc)
    return pieces, last


# -- generate ---------------------------------------------------------------------------
def _completion(message: dict[str, Any], finish: Any = "stop", **top: Any) -> dict[str, Any]:
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m-1",
            "choices": [{"index": 0, "message": {"role": "assistant", **message},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
    body.update(top)
    return body


def _call(id: str, name: str, arguments: Any, kind: str = "function") -> dict[str, Any]:
    return {"id": id, "type": kind, "function": {"name": name, "arguments": arguments}}


GENERATED = {
    "text": _completion({"content": "Hello there"}),
    "unicode-and-escapes": _completion({"content": "é ✓ \"q\"\n\ttab \\ \u2028"}),
    "empty-content": _completion({"content": ""}),
    "null-content": _completion({"content": None}),
    "refusal": _completion({"content": None, "refusal": "I can't help with that."}),
    "one-tool-call": _completion({"content": None, "tool_calls": [
        _call("call_1", "lookup", '{"city": "Paris"}')]}, "tool_calls"),
    "several-tool-calls-and-text": _completion({"content": "Looking.", "tool_calls": [
        _call("call_1", "lookup", '{"city": "Paris"}'), _call("call_2", "other", "[1, 2]"),
        _call("call_3", "custom_one", "raw", kind="custom"),
        _call("call_4", "empty", None), _call("call_5", "blank", "")]}, "tool_calls"),
    "finish-length": _completion({"content": "cut"}, "length"),
    "finish-null": _completion({"content": "x"}, None),
    "finish-unknown": _completion({"content": "x"}, "something_new"),
    "no-usage": _completion({"content": "x"}, usage=None),
    "usage-missing": {k: v for k, v in _completion({"content": "x"}).items() if k != "usage"},
    "usage-details": _completion({"content": "x"}, usage={
        "prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 2}}),
    "usage-digit-strings": _completion({"content": "x"}, usage={
        "prompt_tokens": "3", "completion_tokens": 4.0, "total_tokens": 7}),
    "usage-bool": _completion({"content": "x"}, usage={
        "prompt_tokens": True, "completion_tokens": 4, "total_tokens": 5}),
    "usage-zero": _completion({"content": "x"}, usage=0),
    "two-choices-extra-fields": {**_completion({"content": "first"}), "service_tier": "x",
                                 "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "first", "audio": None},
         "finish_reason": "stop", "extra": 1},
        {"index": 1, "message": {"role": "assistant", "content": "second"},
         "finish_reason": "stop"}]},
    "no-id-no-model": {k: v for k, v in _completion({"content": "x"}).items()
                       if k not in ("id", "model")},
}


@pytest.mark.parametrize("shape", GENERATED)
async def test_generate_reads_the_body_as_the_sdks_objects_did(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], shape: str
) -> None:
    server.answer(GENERATED[shape])
    client, provider = both
    options = GenerationOptions()
    ours = await _our_generate(provider, options)
    assert not (isinstance(ours, tuple) and len(ours) == 3), ours  # not an error
    assert ours == await _sdk_generate(client, options)


async def test_generate_unwraps_a_structured_answer_as_before(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    server.answer(_completion({"content": '{"value": [1, 2]}'}))
    client, provider = both
    options = GenerationOptions(response_format=LIST_SCHEMA)
    ours = await _our_generate(provider, options)
    assert ours[0] == "[1, 2]"
    assert ours == await _sdk_generate(client, options)


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
async def test_a_refused_status_is_the_sdks_error_translated_as_before(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], status: int
) -> None:
    server.status = status
    server.answer({"error": {"message": f"no ({KEY})", "type": "server_error", "code": "x"}})
    client, provider = both
    ours = await _our_generate(provider, GenerationOptions())
    assert ours == await _sdk_generate(client, GenerationOptions())
    assert ours[0] is not ProviderError or status < 500
    assert KEY not in ours[1]
    assert (await _our_stream(provider))[1] == ours  # raised before any event is read


# -- stream -----------------------------------------------------------------------------
def _events(rng: random.Random) -> list[tuple[str | None, Any]]:
    """A chat completion stream as servers send it: a role chunk, text pieces, tool calls
    cut into pieces (sometimes interleaved), a finish chunk, a usage chunk, [DONE]; with
    the odd keep-alive, named event and error object that is no error."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any] | None, finish: Any = None, **extra: Any) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if delta is not None:
            choice["delta"] = delta
        return {**base, "choices": [choice], **extra}

    words = ["Hello", " wörld", " ✓", "\n", " \"quoted\"", " a\\b", " ", "", None, " end.",
             " a\u2028b", "\u2029", " x\x85y"]  # JSON leaves these unescaped: no line ends
    out: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant", "content": ""}))]
    out += [(None, chunk({"content": w})) for w in rng.sample(words, rng.randint(0, 8))]
    steps: list[dict[str, Any]] = []
    for index in range(rng.choice([0, 0, 1, 2, 3])):
        args = json.dumps({"city": f"Paris {index}", "n": [index, {"k": "é"}]})
        cuts = sorted(rng.sample(range(1, len(args)), rng.randint(0, 5)))
        parts = [args[a:b] for a, b in zip([0, *cuts], [*cuts, len(args)], strict=True)]
        first = {"index": index, "id": f"call_{index}", "type": "function",
                 "function": {"name": f"tool_{index}", "arguments": ""}}
        steps.append({"tool_calls": [first]})
        steps += [{"tool_calls": [{"index": index, "function": {"arguments": p}}]}
                  for p in parts]
    if rng.random() < 0.3:  # parallel calls' pieces interleaved
        rng.shuffle(steps[1:])
        steps.sort(key=lambda s: (s["tool_calls"][0]["index"], "id" not in s["tool_calls"][0]))
    out += [(None, chunk(step)) for step in steps]
    finish = rng.choice(["stop", "length", "tool_calls", "content_filter", None])
    if rng.random() < 0.3:  # usage in the finish chunk, as some servers send it
        out.append((None, chunk({}, finish, usage={"prompt_tokens": 5, "completion_tokens": 6})))
    else:
        out.append((None, chunk(rng.choice([{}, {"content": None}]), finish)))
        if rng.random() < 0.7:
            out.append((None, {**base, "choices": [], "usage": {
                "prompt_tokens": 5, "completion_tokens": rng.choice([6, "6"]),
                "total_tokens": 11}}))
    for _ in range(rng.randint(0, 3)):  # events a chat stream may carry besides chunks
        extra = rng.choice([("ping", {"type": "ping"}), ("thread.run.created", {"id": "r"}),
                            ("unknown", {"choices": []}), (None, {"error": None}),
                            (None, {"error": {}}), (None, {**base, "choices": []})])
        out.insert(rng.randint(1, len(out)), extra)
    if rng.random() < 0.85 or finish is None:  # no [DONE] and no finish: a cut (below)
        out.append((None, "[DONE]"))
    return out


def _sse(rng: random.Random, events: Sequence[tuple[str | None, Any]]) -> bytes:
    end = rng.choice(["\n", "\r\n", "\r"])
    lines: list[str] = []
    for name, payload in events:
        if rng.random() < 0.2:
            lines += [rng.choice([": keep-alive", ":", ": OPENROUTER PROCESSING"]), ""]
        if name:
            lines.append(f"event: {name}")
        if rng.random() < 0.1:  # not ``id``: after one, the SDK's decoder makes an event of
            lines.append("retry: 1000")  # every blank line (and fails on its empty data)
        text = payload if isinstance(payload, str) else json.dumps(  # UTF-8, as servers
            payload, indent=rng.choice([None, None, None, 1]), ensure_ascii=False)  # send it
        colon = rng.choice(["data: ", "data: ", "data:"])
        lines += [colon + line for line in text.split("\n")]
        lines.append("")
    return (end.join(lines) + end).encode()


@pytest.mark.parametrize("seed", range(120))
async def test_generated_streams_read_as_the_sdks_objects_did(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], seed: int
) -> None:
    rng = random.Random(seed)
    server.stream(_sse(rng, _events(rng)), rng)
    client, provider = both
    ours = await _our_stream(provider)
    assert len(ours[1]) == 3 and not isinstance(ours[1][0], type), ours
    assert ours == await _sdk_stream(client)


ERROR_EVENTS = {  # the error object, and what it stands for
    "error-object": ({"error": {"message": "Overloaded", "type": "server_error", "code": 529}},
                     ServerError, "(529) [server_error, 529]"),
    "error-text": ({"error": "boom"}, ServerError, "(500)"),
    "error-no-message": ({"error": {"type": "overloaded_error"}}, ServerError,
                         "(529) [overloaded_error]"),
    "error-message-not-text": ({"error": {"message": 5}}, ServerError, "(500)"),
    "rate-limited": ({"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
                     RateLimitError, "(429) [rate_limit_exceeded]"),
    "refused": ({"error": {"message": "bad", "type": "invalid_request_error"}},
                BadRequestError, "(400) [invalid_request_error] (bad)"),
}


@pytest.mark.parametrize("shape", ERROR_EVENTS)
async def test_an_error_object_in_the_stream_is_the_status_it_stands_for(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], shape: str
) -> None:
    """The SDK raises a bare APIError for it; its code (OpenRouter puts the HTTP status
    there) or type names the status, and an unknown one is the server failing."""
    event, expected, status = ERROR_EVENTS[shape]
    first = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    events = [(None, first), (None, event), (None, first), (None, "[DONE]")]
    server.stream(_sse(random.Random(0), events))
    client, provider = both
    ours = await _our_stream(provider)
    assert ours == await _sdk_stream(client)
    assert ours[0] == ["Hi"] and ours[1][0] is expected
    assert status in ours[1][1] and KEY not in ours[1][1]


async def test_an_error_object_before_any_text_is_retried(
    server: _Scripted, make_pepper: Any
) -> None:
    event = ERROR_EVENTS["error-object"][0]
    server.stream(_sse(random.Random(0), [(None, event), (None, "[DONE]")]))
    async with make_pepper("openai", server).with_retry(attempts=2, backoff=0.01) as pepper:
        with pytest.raises(ServerError, match=r"\(529\)"):
            async for _ in pepper.chat.with_user("hi").stream():
                pass
    assert len(server.ports) == 2  # two requests: the first attempt was retried


async def test_a_body_that_ends_before_done_or_a_finish_reason_is_a_dropped_connection(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """The SDK's Stream ends quietly there, and the answer cut short read as finished;
    a finish reason without [DONE] is a finished answer."""
    first = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    server.stream(_sse(random.Random(0), [(None, first)]))
    _, provider = both
    pieces, error = await _our_stream(provider)
    assert pieces == ["Hi"] and error[0] is ServerError and error[2] is True
    assert "broke while the answer was streaming" in error[1]
    last = {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
    server.stream(_sse(random.Random(0), [(None, first), (None, last)]))
    assert await _our_stream(provider) == (["Hi"], ("length", (), None))


async def test_a_stream_read_to_its_end_leaves_the_connection_to_the_next_request(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """After [DONE] the rest of the body is read, so keep-alive holds, as with the SDK."""
    rng = random.Random(1)
    server.stream(_sse(rng, [(None, {"choices": [{"index": 0, "delta": {"content": "a"}}]}),
                             (None, "[DONE]")]))
    _, provider = both
    for _ in range(4):
        assert (await _our_stream(provider))[0] == ["a"]
    server.answer(_completion({"content": "x"}))
    await provider.generate(HI, GenerationOptions())
    assert len(server.ports) == 5 and len(set(server.ports)) == 1


async def test_breaking_out_of_a_stream_closes_its_connection(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    piece = {"choices": [{"index": 0, "delta": {"content": "more "}}]}
    server.stream(_sse(random.Random(2), [(None, piece)] * 3))
    server.hold = True
    _, provider = both
    stream = provider.generate_stream(HI, GenerationOptions())
    async for chunk in stream:
        assert chunk.content == "more "
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert server.closed.wait(5), "the connection stayed open after the stream was left"


async def test_a_deadline_mid_stream_applies_and_closes_the_connection(
    server: _Scripted,
) -> None:
    from pepperpy import PepperPy
    from pepperpy.core import ProviderTimeoutError
    from pepperpy.registry import ProviderRegistry

    piece = {"choices": [{"index": 0, "delta": {"content": "slow "}}]}
    server.stream(_sse(random.Random(3), [(None, piece)]))
    server.hold = True
    registry = ProviderRegistry()
    registry.register("llm", "compat", OpenAIChatProvider)
    pepper = PepperPy(registry=registry).with_llm(
        "compat", api_key=KEY, model="m", base_url=server.url + "/v1").with_timeout(1.0)
    seen: list[str] = []
    async with pepper:
        with pytest.raises(ProviderTimeoutError):
            async for chunk in pepper.chat.with_user("hi").stream():
                seen.append(chunk.content)
    assert seen == ["slow "]
    assert server.closed.wait(5)


async def test_a_connection_dropped_mid_stream_is_dropped_as_before(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    piece = {"choices": [{"index": 0, "delta": {"content": "cut "}}]}
    server.stream(_sse(random.Random(4), [(None, piece)]) + b'data: {"choi')
    server.cut = True
    _, provider = both
    ours = await _our_stream(provider)
    assert ours[0] == ["cut "]
    assert ours[1][0].__name__ == "ServerError" and "broke while the answer" in ours[1][1]


# -- what the SDK's objects let through, or failed on with a bare exception -------------
def _piece(**call: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}


ARGS = {"index": 0, "id": "call_1", "function": {"name": "lookup", "arguments": ""}}
BROKEN_BODIES: dict[str, tuple[Any, str]] = {
    "not-json": (b"<html>Bad gateway</html>", "sent an answer that is not JSON"),
    "not-utf8": (b'{"a": "\xff"}', "sent an answer that is not JSON"),
    "nested-too-deep": (b"[" * 100_000 + b"]" * 100_000, "sent an answer that is not JSON"),
    "not-an-object": ([1, 2], r"sent an answer that is not an object \(list\)"),
    "no-choices": ({"choices": []}, "sent an answer without a choice"),
    "choices-not-a-list": ({"choices": {"0": {}}}, "sent an answer without a choice"),
    "no-message": ({"choices": [{"message": "hi"}]}, "sent a choice without a message"),
    "finish-not-text": (_completion({"content": "x"}, 5),
                        r"sent a finish reason that is not text \(int\)"),
    "usage-not-an-object": (_completion({"content": "x"}, usage=[3, 4]),
                            r"sent usage that is not an object \(list\)"),
    "tool-calls-not-a-list": (_completion({"tool_calls": {"id": "call_1"}}),
                              "sent tool calls that are not a list"),
    "tool-call-not-an-object": (_completion({"tool_calls": ["call_1"]}),
                                "sent a tool call that is not an object"),
    "function-missing": (_completion({"tool_calls": [{"id": "c", "type": "function"}]}),
                         "sent a function call without its function"),
    "tool-id-not-text": (_completion({"tool_calls": [_call(7, "lookup", "{}")]}),  # type: ignore[arg-type]
                         r"sent a tool call id that is not text \(int\)"),
    "tool-id-missing": (_completion({"tool_calls": [_call(None, "lookup", "{}")]}),  # type: ignore[arg-type]
                        r"sent a tool call id that is not text \(NoneType\)"),
    "tool-name-not-text": (_completion({"tool_calls": [_call("c", ["lookup"], "{}")]}),  # type: ignore[arg-type]
                           r"sent a tool name that is not text \(list\)"),
    "arguments-nested-too-deep": (_completion({"tool_calls": [
        _call("c", "lookup", "[" * 100_000)]}), "arguments for tool 'lookup' that are not JSON"),
}


@pytest.mark.parametrize("shape", BROKEN_BODIES)
async def test_generate_a_body_of_the_wrong_shape_is_a_provider_error(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], shape: str
) -> None:
    body, match = BROKEN_BODIES[shape]
    if isinstance(body, bytes):
        server.content_type, server.pieces = "text/html", [body]
    else:
        server.answer(body)
    with pytest.raises(ProviderError, match=match) as caught:
        await both[1].generate(HI, GenerationOptions())
    assert caught.value.provider == "openai" and not caught.value.retryable


BROKEN_EVENTS: dict[str, tuple[Any, str]] = {
    "not-json": ("{oops", "streamed an event that is not JSON"),
    "nested-too-deep": ("[" * 100_000, "streamed an event that is not JSON"),
    "not-an-object": ([1], r"streamed an event that is not an object \(list\)"),
    "null": (None, r"streamed an event that is not an object \(NoneType\)"),
    "choices-not-a-list": ({"choices": {"0": {}}}, "streamed choices that are not a list"),
    "choice-not-an-object": ({"choices": ["x"]}, "streamed choices that are not a list"),
    "delta-not-an-object": ({"choices": [{"index": 0, "delta": "Hi"}]},
                            "streamed a delta that is not an object"),
    "finish-not-text": ({"choices": [{"index": 0, "delta": {}, "finish_reason": 1}]},
                        r"sent a finish reason that is not text \(int\)"),
    "usage-not-an-object": ({"choices": [], "usage": "3 tokens"},
                            r"sent usage that is not an object \(str\)"),
    "tool-calls-not-a-list": ({"choices": [{"index": 0, "delta": {"tool_calls": {"a": 1}}}]},
                              "streamed tool calls that are not a list"),
    "tool-call-not-an-object": ({"choices": [{"index": 0, "delta": {"tool_calls": [7]}}]},
                                "streamed a tool call that is not an object"),
    "index-not-a-number": (_piece(**{**ARGS, "index": "0"}),
                           r"tool call whose index is not a whole number \(str\)"),
    "function-not-an-object": (_piece(**{**ARGS, "function": "lookup"}),
                               "streamed a tool call whose function is not an object"),
    "tool-id-not-text": (_piece(**{**ARGS, "id": 7}),
                         r"sent a tool call id that is not text \(int\)"),
    "tool-name-not-text": (_piece(**{**ARGS, "function": {"name": {"n": 1}}}),
                           r"sent a tool name that is not text \(dict\)"),
    "arguments-not-text": (_piece(**{**ARGS, "function": {"name": "lookup", "arguments": 5}}),
                           r"sent an arguments piece for tool 'lookup' that is not text \(int\)"),
}


@pytest.mark.parametrize("shape", BROKEN_EVENTS)
async def test_stream_an_event_of_the_wrong_shape_is_a_provider_error(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], shape: str
) -> None:
    bad, match = BROKEN_EVENTS[shape]
    first = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    server.stream(_sse(random.Random(5), [(None, first), (None, bad), (None, "[DONE]")])
                  if not isinstance(bad, str) else
                  b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
                  + f"data: {bad}\n\ndata: [DONE]\n\n".encode())
    seen: list[str] = []
    with pytest.raises(ProviderError, match=match) as caught:
        async for chunk in both[1].generate_stream(HI, GenerationOptions()):
            seen.append(chunk.content)
    assert seen == ["Hi"]
    assert caught.value.provider == "openai" and not caught.value.retryable


async def test_arguments_pieces_are_joined_then_read_as_one_document(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """The well-typed twin of the wrong-type cases: pieces of text, with an index or
    without (a server that omits it streams one call, as the SDK's objects read it)."""
    client, provider = both
    for index in (0, None):
        pieces = [_piece(**{**ARGS, "index": index}),
                  _piece(index=index, function={"arguments": '{"city": '}),
                  _piece(index=index, function={"arguments": '"Paris"}'})]
        server.stream(_sse(random.Random(6), [(None, p) for p in pieces] + [(None, "[DONE]")]))
        ours = await _our_stream(provider)
        assert ours[1][1] == (ToolCall("call_1", "lookup", {"city": "Paris"}),)
        assert ours == await _sdk_stream(client)


async def test_a_choice_without_a_delta_is_read_past(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """The SDK's objects failed on it with an AttributeError; it carries nothing to read."""
    events = [(None, {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
              (None, {"choices": [{"index": 0, "finish_reason": "length"}]}), (None, "[DONE]")]
    server.stream(_sse(random.Random(7), events))
    assert await _our_stream(both[1]) == (["Hi"], ("length", (), None))


async def test_an_event_id_line_is_read_past(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """After an ``id`` line the SDK's decoder made an event of every blank line, and failed
    on the first one's empty data; an event is only one that has data or a name."""
    server.stream(b'id: 1\ndata: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
                  b': keep-alive\n\ndata: [DONE]\n\n')
    assert await _our_stream(both[1]) == (["Hi"], ("stop", (), None))


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
async def test_a_line_separator_in_a_text_piece_stays_in_its_event(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider], separator: str
) -> None:
    """JSON leaves U+2028, U+2029 and U+0085 unescaped; only CR and LF end an SSE line
    (the SDK splits the bytes before decoding), so a text holding one is an answer, not
    "an event that is not JSON"."""
    chunk = {"choices": [{"index": 0, "delta": {"content": f"a{separator}b"}}]}
    server.stream(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\ndata: [DONE]\n\n".encode())
    client, provider = both
    ours = await _our_stream(provider)
    assert ours[0] == [f"a{separator}b"]
    assert ours == await _sdk_stream(client)


async def test_a_stream_its_content_encoding_does_not_decode_is_dropped(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """A body named gzip that is not (a broken proxy): httpx's ``DecodingError`` is no
    connection error, and escaped the stream bare."""
    server.stream(b"\x1f\x8b\x08\x00 not gzip at all" * 4)
    server.headers = {"content-encoding": "gzip"}
    ours = await _our_stream(both[1])
    assert ours[1][0].__name__ == "ServerError" and "broke while the answer" in ours[1][1], ours


async def test_a_stream_is_read_as_utf8_whatever_charset_it_names(
    server: _Scripted, both: tuple[openai.AsyncOpenAI, OpenAIChatProvider]
) -> None:
    """As the SSE specification and the SDK read it (not by the declared charset)."""
    server.stream(_sse(random.Random(8), [
        (None, {"choices": [{"index": 0, "delta": {"content": "é ✓"}}]}), (None, "[DONE]")]))
    server.content_type = "text/event-stream; charset=latin-1"
    client, provider = both
    ours = await _our_stream(provider)
    assert ours[0] == ["é ✓"]
    assert ours == await _sdk_stream(client)
