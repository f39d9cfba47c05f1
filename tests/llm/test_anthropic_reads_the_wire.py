"""The anthropic plugin reads the answer itself (the JSON body, the server-sent events)
while the SDK still sends the request: the same server answer read by the SDK's own
model objects and by the plugin must give the same text, tool calls, usage, stop
reason, finish reason and ids. Streams are generated (text, tool input and thinking
blocks, pings, comments, unknown and unnamed events, CRLF endings) and written cut at
random byte boundaries. Errors stay what they were: an ``error`` event goes through the
SDK's exception and the plugin's translation, a cut or stalled body is ``dropped`` or
timed out, and anything that is not JSON of the expected shape is a ``ProviderError``.
Leaving a stream early closes its connection."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from pepperpy import PepperPy
from pepperpy.core import (
    BadRequestError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from pepperpy_testing.wire.anthropic import AnthropicServer
from pepperpy_testing.wire.base import Fault, RecordedRequest, Reply
from tests.llm.conftest import API_KEY

_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
           "max_tokens": "length"}
SCHEMA = {"title": "answer", "type": "object", "properties": {"city": {"type": "string"}}}
LIST_SCHEMA = {"title": "answer", "type": "array", "items": {"type": "string"}}


class _Script(AnthropicServer):
    """Answers every request with ``answer`` (a JSON document, or raw bytes) or, for a
    stream, writes ``pieces`` as they are, one HTTP chunk each. ``endless``: after the
    pieces, text deltas until the client hangs up (``hung_up`` is then set)."""

    answer: Any = None
    pieces: list[bytes] = []
    stall: float = 0.0
    endless = False

    def __init__(self) -> None:
        super().__init__()
        self.hung_up = threading.Event()

    def route(self, request: RecordedRequest, reply: Reply) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("stream") and not isinstance(self.answer, bytes):
            return reply.json(200, self.answer)
        reply.open_stream()
        for piece in [self.answer] if not body.get("stream") else self.pieces:
            reply.write_chunk(piece)
        if self.stall:
            self.sleep(self.stall)
        try:
            while self.endless and not self._stopping.is_set():
                reply.write_chunk(_sse("content_block_delta", _text(0, "more ")))
                self.sleep(0.01)
        except OSError:
            self.hung_up.set()
            raise
        return reply.end_stream()


def _sse(name: str | None, payload: Any, end: str = "\n") -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    head = f"event: {name}{end}" if name is not None else ""
    return f"{head}data: {data}{end}{end}".encode()


def _text(index: int, text: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index,
            "delta": {"type": "text_delta", "text": text}}


def _start(prompt: Any = 3, completion: Any = 1) -> dict[str, Any]:
    return {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [],
        "model": "test-model", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion}}}


def _hello() -> list[bytes]:
    """A stream's first events: the message, and "Hi"."""
    return [_sse("message_start", _start()), _sse("content_block_delta", _text(0, "Hi"))]


def _tool_start(index: int, call_id: Any, name: Any) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}}


def _json_piece(index: int, piece: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index,
            "delta": {"type": "input_json_delta", "partial_json": piece}}


def _delta(stop: Any, completion: Any = 4) -> dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": completion}}


TEXTS = ["Hi", " there", "é", "日本", "🙂", "\n", '"q"', "\\", " ", "", "a b\r\nc"]


def _random_stream(rng: random.Random, forced: str | None = None) -> list[tuple[str | None, Any]]:
    """A well-formed stream with the noise a real one may carry."""
    events: list[tuple[str | None, Any]] = [("message_start", _start(
        rng.randint(0, 99), rng.choice([0, 1, None])))]
    kinds = ["answer"] if forced else rng.choices(["text", "tool", "thinking"], k=rng.randint(0, 4))
    for index, kind in enumerate(kinds):
        if kind == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
            events += [("content_block_delta", _text(index, rng.choice(TEXTS)))
                       for _ in range(rng.randint(0, 6))]
        elif kind == "thinking":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "thinking",
                                                                     "thinking": ""}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "thinking_delta",
                                                             "thinking": "hmm"}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "signature_delta",
                                                             "signature": "c2ln"}}))
        else:
            name = forced or rng.choice(["lookup", "weather", "f"])
            events.append(("content_block_start", _tool_start(index, f"toolu_{index}", name)))
            raw = json.dumps({"city": rng.choice(TEXTS), "n": rng.randint(-5, 5),
                              "nested": {"list": [1.5, None, True]}})
            cuts = sorted(rng.sample(range(1, len(raw)), k=min(3, len(raw) - 1)))
            for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True):
                events.append(("content_block_delta", _json_piece(index, raw[a:b])))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    for _ in range(rng.randint(0, 3)):  # noise the readers skip, anywhere in the stream
        events.insert(rng.randint(1, len(events)), rng.choice([
            ("ping", {"type": "ping"}),
            ("mystery_event", {"type": "mystery_event", "index": 0}),
            (None, _text(0, "UNNAMED, SKIPPED")),  # the SDK skips events without a name
            ("content_block_delta", ""),  # no data: skipped
        ]))
    stop = "tool_use" if forced else rng.choice(["end_turn", "tool_use", "max_tokens",
                                                 "stop_sequence", None])
    events.append(("message_delta", _delta(stop, rng.randint(0, 99))))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _cut(events: list[tuple[str | None, Any]], rng: random.Random) -> list[bytes]:
    """The stream's bytes (LF or CRLF, with comments and ``id`` lines), cut anywhere."""
    end = rng.choice(["\n", "\r\n"])
    raw = b""
    for name, payload in events:
        if rng.random() < 0.2:
            raw += f": keep-alive{end}".encode()
        if rng.random() < 0.1:
            raw += f"id: {rng.randint(1, 9)}{end}".encode()
        raw += _sse(name, payload, end)
    cuts = sorted(rng.sample(range(1, len(raw)), k=min(len(raw) - 1, rng.randint(1, 40))))
    return [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]


def _sdk_client(server: AnthropicServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.url, max_retries=0)


async def _sdk_stream(server: AnthropicServer, forced: str | None, wrapped: bool) -> dict[str, Any]:
    """What the stream says, read from the SDK's own event objects."""
    texts: list[str] = []
    tools: dict[int, tuple[str, str, list[str]]] = {}
    stop, prompt, completion = None, 0, 0
    async with _sdk_client(server) as client:
        stream = await client.messages.create(model="m", max_tokens=5, stream=True,
                                              messages=[{"role": "user", "content": "hi"}])
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                texts.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                tools[event.index][2].append(event.delta.partial_json)
                if tools[event.index][1] == forced and not wrapped:
                    texts.append(event.delta.partial_json)
            elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                tools[event.index] = (event.content_block.id, event.content_block.name, [])
            elif event.type == "message_start":
                prompt = event.message.usage.input_tokens or 0
                completion = event.message.usage.output_tokens or 0
            elif event.type == "message_delta":
                stop = event.delta.stop_reason or stop
                completion = event.usage.output_tokens or completion
    calls = [(i, n, json.loads("".join(p) or "{}")) for _, (i, n, p) in sorted(tools.items())]
    if wrapped:
        texts = [json.dumps(c[2]["value"]) for c in calls if c[1] == forced]
    finish = "stop" if forced and stop == "tool_use" else _FINISH.get(stop or "", stop)
    return {"text": "".join(texts), "calls": [c for c in calls if c[1] != forced],
            "stop": stop, "finish": finish or "stop", "usage": (prompt, completion)}


async def _plugin_stream(pepper: PepperPy, schema: dict[str, Any] | None) -> dict[str, Any]:
    chat = pepper.chat.with_user("hi")
    async with pepper:
        chunks = [c async for c in (chat.with_schema(schema) if schema else chat).stream()]
    last = chunks[-1]
    assert last.usage is not None and all(c.provider == "anthropic" for c in chunks)
    return {"text": "".join(c.content for c in chunks),
            "calls": [(c.id, c.name, c.arguments) for c in last.tool_calls],
            "stop": last.metadata["stop_reason"], "finish": last.finish_reason,
            "usage": (last.usage.prompt_tokens, last.usage.completion_tokens)}


@pytest.mark.parametrize("seed", range(40))
async def test_a_generated_stream_reads_as_the_sdk_reads_it(
    make_pepper: Callable[..., PepperPy], seed: int
) -> None:
    rng = random.Random(seed)
    with _Script() as server:
        server.pieces = _cut(_random_stream(rng), rng)
        expected = await _sdk_stream(server, None, False)
        assert await _plugin_stream(make_pepper("anthropic", server), None) == expected


@pytest.mark.parametrize("schema", [SCHEMA, LIST_SCHEMA], ids=["object", "wrapped-list"])
async def test_structured_output_streams_as_the_sdk_reads_it(
    make_pepper: Callable[..., PepperPy], schema: dict[str, Any]
) -> None:
    """The forced tool's input is the answer: streamed as text (an object schema) or
    unwrapped from ``{"value": ...}`` at the end (any other schema)."""
    rng = random.Random(7)
    events = _random_stream(rng, forced="answer")
    value = {"city": "Paris"} if schema is SCHEMA else {"value": ["a", "b"]}
    events = [e for e in events if e[1] == "" or e[1].get("delta", {}).get("type")
              != "input_json_delta"]
    at = next(i for i, e in enumerate(events) if e[0] == "content_block_stop")
    raw = json.dumps(value)
    events[at:at] = [("content_block_delta", _json_piece(0, raw[:5])),
                     ("content_block_delta", _json_piece(0, raw[5:]))]
    with _Script() as server:
        server.pieces = _cut(events, rng)
        expected = await _sdk_stream(server, "answer", schema is not SCHEMA)
        got = await _plugin_stream(make_pepper("anthropic", server), schema)
    assert got == expected
    assert json.loads(got["text"]) == (value if schema is SCHEMA else value["value"])


def _random_message(rng: random.Random) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for index in range(rng.randint(0, 4)):
        kind = rng.choice(["text", "tool_use", "thinking"])
        if kind == "text":
            blocks.append({"type": "text", "text": "".join(rng.choices(TEXTS, k=3))})
        elif kind == "thinking":
            blocks.append({"type": "thinking", "thinking": "hmm", "signature": "c2ln"})
        else:
            blocks.append({"type": "tool_use", "id": f"toolu_{index}", "name": "lookup",
                           "input": rng.choice([{}, {"city": rng.choice(TEXTS)}, None])})
    return {"id": f"msg_{rng.randint(1, 99)}", "type": "message", "role": "assistant",
            "model": rng.choice(["claude-x", "test-model"]), "content": blocks,
            "stop_reason": rng.choice(["end_turn", "tool_use", "max_tokens", None]),
            "stop_sequence": None,
            "usage": {"input_tokens": rng.randint(0, 99), "output_tokens": rng.randint(0, 99)}}


@pytest.mark.parametrize("seed", range(20))
async def test_a_generated_answer_reads_as_the_sdk_reads_it(
    make_pepper: Callable[..., PepperPy], seed: int
) -> None:
    with _Script() as server:
        server.answer = _random_message(random.Random(seed))
        async with _sdk_client(server) as client:
            reply = await client.messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        async with make_pepper("anthropic", server) as pepper:
            result = await pepper.chat.with_user("hi").generate()
    assert result.content == "".join(b.text for b in reply.content if b.type == "text")
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        (b.id, b.name, b.input or {}) for b in reply.content if b.type == "tool_use"]
    assert (result.model, result.metadata["id"], result.metadata["stop_reason"]) == (
        reply.model, reply.id, reply.stop_reason)
    assert result.finish_reason == _FINISH.get(reply.stop_reason or "", reply.stop_reason)
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (
        reply.usage.input_tokens, reply.usage.output_tokens)


@pytest.mark.parametrize("schema", [SCHEMA, LIST_SCHEMA], ids=["object", "wrapped-list"])
async def test_structured_output_generates_as_before(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer,
    schema: dict[str, Any],
) -> None:
    async with make_pepper("anthropic", anthropic_server) as pepper:
        result = await pepper.chat.with_user("city?").with_schema(schema).generate()
    assert result.json() == ({"city": "text"} if schema is SCHEMA else ["text"])
    assert (result.finish_reason, result.metadata["stop_reason"]) == ("stop", "tool_use")
    assert anthropic_server.last().body["tool_choice"] == {"type": "tool", "name": "answer"}


# -- errors ---------------------------------------------------------------------------
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@pytest.mark.parametrize(("payload", "expected", "status"), [
    (OVERLOADED, ServerError, 529),
    ({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
     RateLimitError, 429),
    ({"type": "error", "error": {"type": "invalid_request_error", "message": "no"}},
     BadRequestError, 400),
    ("the server is overloaded", ServerError, 500),
], ids=["overloaded", "rate-limit", "invalid", "not-json"])
async def test_an_error_event_is_the_error_its_type_names(
    make_pepper: Callable[..., PepperPy], payload: Any, expected: type[Exception], status: int
) -> None:
    """The SDK's Stream raises a status error carrying the stream's own status (200) for
    an ``error`` event; the plugin reads the event's error type for the status it stands
    for (an unknown one is the server failing), so an overload is retried like a 529.
    After a chunk has been passed on nothing is retried (a retry would repeat it)."""
    with _Script() as server:
        server.pieces = [*_hello(), _sse("error", payload)]
        async with _sdk_client(server) as client:
            with pytest.raises(anthropic.APIStatusError) as sdk:
                async for _ in await client.messages.create(
                        model="m", max_tokens=5, stream=True,
                        messages=[{"role": "user", "content": "hi"}]):
                    pass
        seen: list[str] = []
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError) as caught:
                async for chunk in pepper.chat.with_user("hi").stream():
                    seen.append(chunk.content)
    assert type(caught.value) is expected and sdk.value.status_code == 200
    assert seen == ["Hi"] and caught.value.status_code == status
    assert isinstance(caught.value.__cause__, anthropic.APIStatusError)
    assert caught.value.__cause__.body == sdk.value.body
    assert f"({status})" in str(caught.value) and API_KEY not in str(caught.value)
    assert server.hits == 2  # the SDK's request and the plugin's: no retry


async def test_an_overload_before_any_text_is_retried(
    make_pepper: Callable[..., PepperPy]
) -> None:
    with _Script() as server:
        server.pieces = [_sse("message_start", _start()), _sse("error", OVERLOADED)]
        retrying = make_pepper("anthropic", server).with_retry(attempts=2, backoff=0.01)
        async with retrying as pepper:
            with pytest.raises(ServerError, match=r"\(529\) \[overloaded_error\]"):
                async for _ in pepper.chat.with_user("hi").stream():
                    pass
    assert server.hits == 2


BAD_EVENTS = [
    pytest.param(_sse("content_block_delta", "{not json"), "a 'content_block_delta' event that "
                 "is not JSON", id="not-json"),
    pytest.param(_sse("content_block_delta", "[1, 2]"), r"a 'content_block_delta' event of the "
                 r"wrong shape \(AttributeError", id="a-list"),
    pytest.param(_sse("content_block_delta", {"type": "content_block_delta", "index": 0}),
                 r"a 'content_block_delta' event of the wrong shape \(KeyError: 'delta'\)",
                 id="no-delta"),
    pytest.param(_sse("message_start", {"type": "message_start", "message": {"id": "m"}}),
                 "a 'message_start' event of the wrong shape", id="no-usage"),
    pytest.param(_sse("message_delta", {"type": "message_delta", "delta": None}),
                 "a 'message_delta' event of the wrong shape", id="delta-null"),
    pytest.param(_sse("content_block_start", _tool_start(1, 5, "lookup")),
                 r"a tool call whose id or name is not text \(int, str\)", id="call-id-number"),
    pytest.param(_sse("content_block_start", _tool_start(1, "toolu_1", ["lookup"])),
                 r"a tool call whose id or name is not text \(str, list\)", id="call-name-list"),
    pytest.param(_sse("message_delta", _delta(5)), r"a stop reason that is not text \(int\)",
                 id="stop-number"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_EVENTS)
async def test_a_stream_event_that_is_not_what_it_should_be_is_a_provider_error(
    make_pepper: Callable[..., PepperPy], bad: bytes, match: str
) -> None:
    good = [*_hello(), _sse("content_block_start", _tool_start(1, "toolu_1", "lookup")),
            _sse("content_block_delta", _json_piece(1, "{}")), _sse("message_delta", _delta(
                "tool_use")), _sse("message_stop", {"type": "message_stop"})]
    with _Script() as server:
        server.pieces = [*good[:-1], bad, good[-1]]
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match=match) as caught:
                [c async for c in pepper.chat.with_user("hi").stream()]
        assert type(caught.value) is ProviderError and caught.value.provider == "anthropic"
        server.pieces = good  # the same stream without the bad event: an answer
        assert await _plugin_stream(make_pepper("anthropic", server), None) == {
            "text": "Hi", "calls": [("toolu_1", "lookup", {})], "stop": "tool_use",
            "finish": "tool_calls", "usage": (3, 4)}


def _message(**change: Any) -> dict[str, Any]:
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "test-model",
              "content": [{"type": "text", "text": "Hi"},
                          {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}],
              "stop_reason": "tool_use", "stop_sequence": None,
              "usage": {"input_tokens": 3, "output_tokens": 4}}
    return {**answer, **change}


BAD_ANSWERS = [
    pytest.param(b"{not json", "an answer that is not JSON", id="not-json"),
    pytest.param(["a"], r"an answer that is not a JSON object \(list\)", id="a-list"),
    pytest.param(_message(content=None), r"an answer of the wrong shape \(TypeError",
                 id="no-content"),
    pytest.param(_message(content=[5]), r"an answer of the wrong shape \(TypeError",
                 id="block-number"),
    pytest.param(_message(usage=None), r"an answer of the wrong shape \(TypeError", id="no-usage"),
    pytest.param(_message(content=[{"type": "tool_use", "id": 5, "name": "lookup", "input": {}}]),
                 r"a tool call whose id or name is not text \(int, str\)", id="call-id-number"),
    pytest.param(_message(content=[{"type": "tool_use", "id": "t", "name": None, "input": {}}]),
                 r"a tool call whose id or name is not text \(str, NoneType\)",
                 id="call-name-null"),
    pytest.param(_message(stop_reason=["tool_use"]), r"a stop reason that is not text \(list\)",
                 id="stop-list"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_ANSWERS)
async def test_an_answer_that_is_not_what_it_should_be_is_a_provider_error(
    make_pepper: Callable[..., PepperPy], bad: Any, match: str
) -> None:
    with _Script() as server:
        server.answer = bad
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match=match) as caught:
                await pepper.chat.with_user("hi").generate()
        assert type(caught.value) is ProviderError and caught.value.provider == "anthropic"
        server.answer = _message()
        async with make_pepper("anthropic", server) as pepper:
            result = await pepper.chat.with_user("hi").generate()
    assert (result.content, [c.id for c in result.tool_calls]) == ("Hi", ["toolu_1"])


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
async def test_a_refused_status_still_goes_through_the_sdk_and_the_translation(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer, stream: bool
) -> None:
    anthropic_server.inject(Fault(status=529), Fault(status=401))
    async with make_pepper("anthropic", anthropic_server) as pepper:
        chat = pepper.with_retry(attempts=1).chat.with_user("hi")
        with pytest.raises(ServerError, match=r"\(529\) \[overloaded_error\]") as overloaded:
            await (chat.generate() if not stream else anext(chat.stream()))
        with pytest.raises(ProviderError, match="rejected the API key") as rejected:
            await (chat.generate() if not stream else anext(chat.stream()))
    assert isinstance(overloaded.value.__cause__, anthropic.InternalServerError)
    assert isinstance(rejected.value.__cause__, anthropic.AuthenticationError)
    assert API_KEY not in str(rejected.value)


async def test_a_connection_cut_mid_stream_is_dropped(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    anthropic_server.inject(then=Fault(cut_after=4))
    seen: list[str] = []
    async with make_pepper("anthropic", anthropic_server) as pepper:
        with pytest.raises(ServerError, match="broke while the answer was streaming"):
            async for chunk in pepper.chat.with_user("one two three four").stream():
                seen.append(chunk.content)
    assert seen == ["Echo: "]  # start, block start, ping, the first piece: then the cut


async def test_a_stream_that_stalls_times_out(make_pepper: Callable[..., PepperPy]) -> None:
    with _Script() as server:
        server.pieces = _hello()
        server.stall = 3.0
        async with make_pepper("anthropic", server, timeout=0.3) as pepper:
            with pytest.raises(ProviderTimeoutError, match="did not answer in time"):
                [c async for c in pepper.with_retry(attempts=1).chat.with_user("hi").stream()]


@pytest.mark.parametrize("leave", ["break", "cancel", "deadline"])
async def test_leaving_a_stream_early_closes_its_connection(
    make_pepper: Callable[..., PepperPy], leave: str
) -> None:
    """The server writes until the client hangs up: it only notices if the plugin closed
    the response (a leaked one stays open in the pool, its buffer filling)."""
    with _Script() as server:
        server.pieces = _hello()
        server.endless = True
        pepper = make_pepper("anthropic", server)
        if leave == "deadline":
            pepper = pepper.with_timeout(0.3)
        async with pepper:
            stream = pepper.chat.with_user("hi").stream()
            if leave == "break":
                async for chunk in stream:
                    if chunk.content == "more ":
                        break
                await stream.aclose()  # type: ignore[attr-defined]
            elif leave == "cancel":
                async def read() -> None:
                    async for _ in stream:
                        pass
                task = asyncio.ensure_future(read())
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            else:
                with pytest.raises(ProviderTimeoutError, match="with_timeout"):
                    [c async for c in stream]
            # Waited for with the loop blocked: only a response closed as the stream was
            # left counts, not one the garbage collector's generator finalizers close later.
            assert server.hung_up.wait(5)


async def test_a_request_the_sdk_cannot_send_is_not_blamed_on_the_server(
    make_pepper: Callable[..., PepperPy], anthropic_server: AnthropicServer
) -> None:
    """A stream's reading turns a missing field into "the server sent ... of the wrong
    shape"; a request that fails before any answer (here a schema the SDK cannot encode)
    keeps its own error, the same as generate's."""
    schema = {"title": "a", "type": "object", "properties": {"a": {"enum": [object()]}}}
    errors = []
    async with make_pepper("anthropic", anthropic_server) as pepper:
        chat = pepper.chat.with_user("hi").with_schema(schema)
        for call in (chat.generate, lambda: anext(chat.stream())):
            with pytest.raises(Exception, match="not JSON serializable") as caught:
                await call()
            errors.append(type(caught.value))
    assert errors[0] is errors[1] and anthropic_server.hits == 0
