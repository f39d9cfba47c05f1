"""A tiny threaded HTTP server on 127.0.0.1 that vendor fakes build on.

Why not a mock: the real SDKs must do real HTTP (headers, retries, timeouts, SSE
parsing) for the plugin tests to mean anything. Invariants:

- every request is recorded (method, path, lower-cased headers, parsed JSON body)
  before it is answered, so tests can assert on what the SDK sent even for errors;
- ``attempts[key]`` counts requests per error-mode key, so tests can assert retries;
- responses use HTTP/1.1 keep-alive (Content-Length for JSON, chunked for SSE), as
  the real vendors do, so benchmarks do not pay a TCP handshake per request;
- ``stop()`` wakes any handler sleeping in a "slow" mode, so shutdown is quick;
- ``inject(...)`` scripts faults request by request (an error status with or without
  ``Retry-After``, a stall, a stream cut before or after its first chunk), for any
  model; ``hits`` counts every request the server received.
"""

from __future__ import annotations

import json
import socket
import threading
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["Fault", "LoopbackServer", "RecordedRequest", "Reply", "scripted_tool_turn"]


@dataclass(frozen=True)
class Fault:
    """What the server does to one request instead of answering it normally.

    ``status``: answer with this error status (the vendor's error body), sending
    ``retry_after`` (a number of seconds or an HTTP-date) as ``Retry-After`` if set;
    ``stall``: wait this many seconds first (``stop()`` wakes it);
    ``cut_after``: for streams, drop the connection after this many SSE events
    (0: right after the headers, before any chunk).
    """

    status: int | None = None
    retry_after: str | None = None
    stall: float = 0.0
    cut_after: int | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request exactly as the SDK sent it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class Reply:
    """What a route writes back: one JSON document or a stream of SSE events."""

    def __init__(self, handler: BaseHTTPRequestHandler, cut_after: int | None = None) -> None:
        self._handler = handler
        self._cut_after = cut_after

    def json(
        self, status: int, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        h = self._handler
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def sse(self, events: Iterable[tuple[str | None, str]]) -> None:
        """Send ``(event_name, data)`` pairs as ``text/event-stream``, chunk by chunk."""
        self.open_stream()
        for sent, (name, data) in enumerate(events):
            if sent == self._cut_after:
                return self._cut()
            text = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self.write_chunk(text.encode())
        if self._cut_after is not None:
            return self._cut()
        self.end_stream()
        return None

    def open_stream(self, content_type: str = "text/event-stream",
                    content_encoding: str | None = None) -> None:
        """Send the headers of a chunked ``text/event-stream`` answer."""
        headers = {"cache-control": "no-cache"}
        if content_encoding:
            headers["content-encoding"] = content_encoding
        self.open_chunked(200, content_type, headers)

    def write_chunk(self, raw: bytes) -> None:
        """Send ``raw`` as one HTTP chunk, as it is: a test that writes the body itself
        can cut an event or a line (or a UTF-8 character) anywhere. Empty: nothing
        (an empty chunk would end the body)."""
        if not raw:
            return
        self._handler.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self._handler.wfile.flush()

    def end_stream(self) -> None:
        """End a chunked body."""
        self._handler.wfile.write(b"0\r\n\r\n")
        self._handler.wfile.flush()

    def pieces(self, status: int, content_type: str, pieces: Iterable[bytes],
               headers: Mapping[str, str] | None = None) -> None:
        """Send a body exactly as given, each piece its own HTTP chunk (``write_chunk``):
        a reader sees it cut where the pieces end (inside a line, an event or a character)."""
        self.open_chunked(status, content_type, headers)
        for piece in pieces:
            self.write_chunk(piece)
        self.end_stream()

    def open_chunked(self, status: int, content_type: str,
                     headers: Mapping[str, str] | None = None) -> None:
        """Send the headers of a chunked answer of any status and type."""
        h = self._handler
        h.send_response(status)
        h.send_header("content-type", content_type)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()

    def _cut(self) -> None:
        """Drop the connection mid-body, as a crashing server or a proxy would."""
        h = self._handler
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)


class LoopbackServer(ABC):
    """Base class: subclasses implement ``route(request, reply)``."""

    #: Seconds a "slow" request sleeps (longer than any test's client timeout).
    slow_seconds: float = 3.0
    #: What a 429 asks the client to wait (``retry-after-ms``; ``retry-after`` says 1 s).
    retry_after_ms: int = 20

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.attempts: Counter[str] = Counter()
        self.record = True
        #: Every request received, recorded or not (the fault-injection tests count them).
        self.hits = 0
        self._faults: deque[Fault] = deque()
        self._then: Fault | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}"

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
            # plus delayed ACKs add ~40 ms to every loopback response.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                server._dispatch(self)

            def do_GET(self) -> None:
                server._dispatch(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet tests
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for routes and tests ------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        self._stopping.wait(seconds)

    def count(self, key: str) -> int:
        """Count an attempt for ``key`` and return how many there have been."""
        with self._lock:
            self.attempts[key] += 1
            return self.attempts[key]

    def last(self, path: str | None = None) -> RecordedRequest:
        """The most recent request (to ``path`` if given)."""
        found = [r for r in self.requests if path is None or r.path == path]
        assert found, f"no request to {path or 'any path'} was recorded"
        return found[-1]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.attempts.clear()
            self.hits = 0
            self._faults.clear()
            self._then = None

    def inject(self, *faults: Fault, then: Fault | None = None) -> None:
        """Apply ``faults`` to the next requests, one each, then ``then`` to all later
        ones (``None``: answer normally). ``inject(then=Fault(status=500))``: always 500.
        """
        with self._lock:
            self._faults = deque(faults)
            self._then = then

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self.hits += 1
            return self._faults.popleft() if self._faults else self._then

    def _failed(self, model: str, reply: Reply) -> bool:
        """The error modes chosen by model name: ``slow``, ``flaky-429`` (a 429 on the
        first attempt), ``error-<status>``. True when the reply was an error."""
        attempt = self.count(model)
        if model == "slow":
            self.sleep(self.slow_seconds)
        if model == "flaky-429" and attempt == 1:
            model = "error-429"
        if not model.startswith("error-"):
            return False
        status = int(model.removeprefix("error-"))
        extra: dict[str, str] = {}
        if status == 429:
            extra = {"retry-after-ms": str(self.retry_after_ms), "retry-after": "1"}
        self._error(reply, status, headers=extra)
        return True

    @abstractmethod
    def _error(
        self, reply: Reply, status: int, message: str | None = None, *, headers: Any = None
    ) -> None:
        """Answer with the vendor's error body (subclasses know its shape)."""

    @abstractmethod
    def route(self, request: RecordedRequest, reply: Reply) -> None:
        """Answer one request the way the vendor would."""

    # -- plumbing --------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        request = RecordedRequest(
            method=handler.command,
            path=handler.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        if self.record:
            with self._lock:
                self.requests.append(request)
        fault = self._next_fault()
        try:
            if fault is not None and fault.stall:
                self.sleep(fault.stall)
            if fault is not None and fault.status is not None:
                headers = {"retry-after": fault.retry_after} if fault.retry_after else None
                return self._error(Reply(handler), fault.status, headers=headers)
            self.route(request, Reply(handler, fault.cut_after if fault else None))
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (timeouts)
        return None


def example_for(schema: Mapping[str, Any]) -> Any:
    """A small value that satisfies a (simple) JSON schema, for fake model answers."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combo in ("anyOf", "oneOf", "allOf"):
        if schema.get(combo):
            return example_for(schema[combo][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_for(sub) for name, sub in props.items()}
    if kind == "array":
        return [example_for(schema.get("items", {"type": "string"}))]
    return {"string": "text", "integer": 42, "number": 1.5, "boolean": True, "null": None}.get(
        kind, "text"
    )


def scripted_tool_turn(
    model: str, tools: list[tuple[str, Mapping[str, Any]]], called: list[str],
    last_result: str | None,
) -> tuple[str, str, dict[str, Any]] | None:
    """The scripted models that exercise tool loops, chosen by model name.

    ``tool-chain`` calls each offered tool once, in order, passing the previous tool's
    result as the first string parameter (so one tool's output is the next one's
    input), saying ``"Calling NAME."`` first; ``None`` once all were called.
    ``tool-loop`` calls the first tool on every turn and never answers.
    Returns ``(text before the call, tool name, arguments)``.
    """
    if model == "tool-loop" and tools:
        name, schema = tools[0]
        return "", name, example_for(schema)
    if model != "tool-chain":
        return None
    pending = [(n, sc) for n, sc in tools if n not in called]
    if not pending:
        return None
    name, schema = pending[0]
    arguments = example_for(schema)
    strings = [k for k, v in schema.get("properties", {}).items() if v.get("type") == "string"]
    if last_result is not None and strings:
        arguments[strings[0]] = last_result
    return f"Calling {name}.", name, arguments


def word_pieces(text: str) -> list[str]:
    """Split text into stream pieces that join back to exactly ``text``."""
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]] if words else [text]


def count_words(value: Any) -> int:
    """A stand-in token count: words in every string inside ``value``."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, Mapping):
        return sum(count_words(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(count_words(v) for v in value)
    return 0


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def image_problem(media_type: Any, data: Any) -> str | None:
    """Why an image in a request is malformed (as a vendor's API would refuse it)."""
    import base64
    import binascii

    if media_type not in IMAGE_TYPES:
        return f"Unsupported image media type {media_type!r}."
    try:
        raw = base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError):
        return "Image data is not valid base64."
    if not raw:
        return "Image data is empty."
    return None


def images_note(media_types: list[str]) -> str:
    """What the fake models add to an echo when the message showed images."""
    return f" [images: {', '.join(media_types)}]" if media_types else ""
