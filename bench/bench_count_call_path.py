"""Work counted per anthropic request: raw SDK vs PepperPy, with no network and no threads.

    .venv/bin/python bench/bench_count_call_path.py            # CPU time per request, each path
    .venv/bin/python bench/bench_count_call_path.py --callgrind  # instructions per request
    .venv/bin/python bench/bench_count_call_path.py --smoke      # a few requests (tests)
    .venv/bin/python bench/bench_count_call_path.py --callgrind --otel  # + traced generate
    .venv/bin/python bench/bench_count_call_path.py --callgrind --openai  # the openai plugin

``--openai`` counts the openai plugin and the ``openai`` SDK the same way, over the bytes
the OpenAI wire test server sends (a chat completion, or the chunk events: the role, one
text piece per word, the finish, the usage, ``[DONE]``); the raw paths call
``chat.completions.create`` as the overhead bench does. ``--otel`` applies to it too.

Wall-clock ratios (bench_llm_overhead.py) swing with the machine's load; this script
counts the work itself. Both sides use the real ``anthropic`` SDK over an in-process
``httpx.MockTransport`` that answers with the same bytes as the wire test server (a
JSON message, or the SSE event sequence: message_start, content_block_start, ping, one
text delta per word, content_block_stop, message_delta, message_stop). PepperPy runs
the signed plugin bundle through its whole call path with ``with_timeout(30)``, as in
the bench; only its SDK client is rebuilt on the in-process transport after start-up.
The raw side is the SDK as an application calls it (its model objects); the plugin
(1.1 on) sends through the same client's raw-response interfaces and reads the JSON
body and the server-sent events itself, so its count can be below the raw one.
With ``--callgrind`` all four paths run in one process under ``valgrind
--tool=callgrind`` (PYTHONHASHSEED=0, collection off until the measured part): 20
warm-up requests each, start-up's objects frozen out of the collector, then N requests
of each path in turn, counted apart (``callgrind_control`` zeroes the counters before a
path and dumps them after it). Raw and PepperPy are counted in the same process over
the same client, so what moves between processes (the SDK's own work varies by tens of
thousands of instructions from run to run) moves both sides alike; the cost of the
control commands themselves is an empty part, counted at the start and at the end and
taken off. About a minute and a half.

``--otel`` (with ``--callgrind`` or alone) adds two generate paths with the
OpenTelemetry SDK (a TracerProvider with a batch processor into a no-op exporter, as in
``bench_llm_overhead.py``): ``raw generate + span``, the raw request wrapped in the very
span PepperPy makes (same name, kind and attributes at start and end, through the SDK
directly), and ``pepperpy generate, OTel``, a second PepperPy with that provider in
``with_tracing``. So a traced request's extra splits into the SDK's span (raw + span
over raw) and PepperPy's own tracing code (the rest).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

PATHS = ("raw generate", "pepperpy generate", "raw stream", "pepperpy stream")
OTEL_PATHS = ("raw generate + span", "pepperpy generate, OTel")
PROMPT = "The quick brown fox jumps over the lazy dog " * 4
KEY = "sk-bench"
_T = TypeVar("_T")
VENDOR = "openai" if "--openai" in sys.argv else "anthropic"


def _sse() -> list[bytes]:
    answer = "Echo: " + PROMPT
    words = answer.split(" ")
    pieces = [w + " " for w in words[:-1]] + [words[-1]]
    events: list[dict[str, object]] = [
        {"type": "message_start", "message": {
            "id": "msg_test", "type": "message", "role": "assistant", "content": [],
            "model": "m", "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 38, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *({"type": "content_block_delta", "index": 0,
           "delta": {"type": "text_delta", "text": p}} for p in pieces),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": len(pieces)}},
        {"type": "message_stop"},
    ]
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


def _message() -> bytes:
    return json.dumps({
        "id": "msg_test", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "Echo: " + PROMPT}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 38, "output_tokens": 37}}).encode()


def _wire_http(events: list[bytes], message: bytes) -> Any:
    """An HTTP client whose transport answers in process: ``events`` for a stream,
    ``message`` otherwise (the wire servers' bytes, without a socket)."""
    try:  # recent SDKs ship their own fork of httpx and reject the original's clients
        import httpx2 as httpx
    except ImportError:
        import httpx  # type: ignore[no-redef]

    class _Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in events:
                yield event

    def handle(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  stream=_Body())
        return httpx.Response(200, headers={"content-type": "application/json"},
                              content=message)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def _client() -> object:
    import anthropic

    return anthropic.AsyncAnthropic(api_key=KEY, base_url="http://wire.invalid",
                                    timeout=60.0, max_retries=0,
                                    http_client=_wire_http(_sse(), _message()))


def _openai_client() -> object:
    """The ``--openai`` stand-in: the OpenAI wire server's bytes, in process."""
    import openai

    answer = "Echo: " + PROMPT
    words = answer.split(" ")
    pieces = [w + " " for w in words[:-1]] + [words[-1]]
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1,
            "model": "m", "system_fingerprint": "fp_test"}

    def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}]}

    usage = {"prompt_tokens": 38, "completion_tokens": len(pieces), "total_tokens": 75}
    events = [chunk({"role": "assistant", "content": ""}),
              *(chunk({"content": p}) for p in pieces), chunk({}, "stop"),
              {**base, "choices": [], "usage": usage}]
    sse = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
    message = json.dumps({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "m",
        "system_fingerprint": "fp_test", "choices": [{
            "index": 0, "message": {"role": "assistant", "content": answer, "refusal": None},
            "logprobs": None, "finish_reason": "stop"}], "usage": usage}).encode()

    return openai.AsyncOpenAI(api_key=KEY, base_url="http://wire.invalid/v1", timeout=60.0,
                              max_retries=0, http_client=_wire_http(sse, message))


def _raw_paths(client: Any) -> tuple[Callable[[], Awaitable[None]], ...]:
    """The raw SDK's generate and stream, as an application would call them."""
    if VENDOR == "openai":
        chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]

        async def openai_generate() -> None:
            r = await client.chat.completions.create(model="m", messages=chat)
            assert r.choices[0].message.content

        async def openai_stream() -> None:
            stream = await client.chat.completions.create(
                model="m", messages=chat, stream=True, stream_options={"include_usage": True})
            async for _ in stream:
                pass

        return openai_generate, openai_stream
    messages = [{"role": "user", "content": PROMPT}]

    async def raw_generate() -> None:
        r = await client.messages.create(
            model="m", max_tokens=1024, system="Be brief.", messages=messages)
        assert r.content

    async def raw_stream() -> None:
        stream = await client.messages.create(
            model="m", max_tokens=1024, system="Be brief.", messages=messages, stream=True)
        async for _ in stream:
            pass

    return raw_generate, raw_stream


Paths = dict[str, Callable[[], Awaitable[None]]]


async def _run(n: int, measure: Callable[[Paths, int], Awaitable[_T]], otel: bool = False) -> _T:
    """Start PepperPy and the client, run 20 warm-up requests of every path, freeze
    start-up's objects out of the collector, then ``measure(paths, n)``."""
    from _signed import signed_registry

    from pepperpy import PepperPy

    client = _openai_client() if VENDOR == "openai" else _client()
    with tempfile.TemporaryDirectory(prefix="pepperpy-count-") as workdir:
        reg = signed_registry(Path(workdir), f"llm_{VENDOR}_provider")
        pepper = (PepperPy(registry=reg).with_llm(VENDOR, api_key=KEY, model="m")
                  .with_timeout(30))
        await pepper.initialize()
        provider = await pepper._provider("llm")
        provider._client = client  # type: ignore[attr-defined]  # same SDK, in-process bytes
        raw_generate, raw_stream = _raw_paths(client)

        async def ours_generate() -> None:
            r = await pepper.chat.with_system("Be brief.").with_user(PROMPT).generate()
            assert r.content

        async def ours_stream() -> None:
            async for _ in pepper.chat.with_system("Be brief.").with_user(PROMPT).stream():
                pass

        paths: Paths = dict(zip(
            PATHS, (raw_generate, ours_generate, raw_stream, ours_stream), strict=True))
        traced = None
        if otel:
            extra, traced = await _otel_paths(reg, client, raw_generate)
            paths.update(extra)
        for fn in paths.values():
            for _ in range(20):
                await fn()
        # Start-up's objects out of the collector's view: otherwise a full collection (tens
        # of millions of instructions over the SDKs' objects) lands in one count and not in
        # another, and the per-request count moves by ~150K between runs of the same code.
        gc.collect()
        gc.freeze()
        try:
            return await measure(paths, n)
        finally:
            await pepper.aclose()
            if traced is not None:
                await traced.aclose()


async def _otel_paths(reg: object, client: object, raw_generate: Callable[[], Awaitable[None]]
                      ) -> tuple[Paths, Any]:
    """The ``--otel`` paths: the raw request inside the span PepperPy makes, and a PepperPy
    tracing into the same SDK provider (returned too, for the caller to close)."""
    from bench_llm_overhead import with_span
    from bench_reliability import noop_tracer_provider

    from pepperpy import PepperPy

    provider = noop_tracer_provider()
    tracer = provider.get_tracer("pepperpy")  # type: ignore[attr-defined]
    traced = (PepperPy(registry=reg).with_llm(VENDOR, api_key=KEY, model="m")  # type: ignore[arg-type]
              .with_timeout(30).with_tracing(tracer_provider=provider))
    await traced.initialize()
    (await traced._provider("llm"))._client = client  # type: ignore[attr-defined]

    async def ours_generate_otel() -> None:
        r = await traced.chat.with_system("Be brief.").with_user(PROMPT).generate()
        assert r.content

    return dict(zip(OTEL_PATHS, (with_span(tracer, raw_generate, VENDOR),
                                 ours_generate_otel), strict=True)), traced


async def _cpu(path: str, paths: Paths, n: int) -> float:
    """CPU seconds of ``n`` requests on ``path``."""
    fn = paths[path]
    started = time.thread_time()
    for _ in range(n):
        await fn()
    return time.thread_time() - started


async def _counted(paths: Paths, n: int) -> None:
    """Under callgrind: each path's ``n`` requests counted apart, between an empty part
    at the start and one at the end (the control commands' own cost)."""
    pid = str(os.getpid())

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)

    control("--instr=on")
    for part in (_EMPTY, *paths, _EMPTY):
        control("--zero")
        fn = paths.get(part)
        for _ in range(n if fn is not None else 0):
            await fn()  # type: ignore[misc]
        control(f"--dump={part}")
    control("--instr=off")


_EMPTY = "empty"


def _callgrind(n: int, otel: bool = False) -> dict[str, int]:
    """Instructions per request of each path, counted in one process."""
    counts: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="pepperpy-cg-") as out:
        target = f"{out}/cg"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={target}", sys.executable, __file__, "--one", str(n),
             *(["--otel"] if otel else []), *(["--openai"] if VENDOR == "openai" else [])],
            check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        for dump in sorted(Path(out).glob("cg.*"), key=lambda p: int(p.suffix[1:])):
            part = total = None
            for line in dump.read_text(errors="replace").splitlines():
                if line.startswith("desc: Trigger: dump "):
                    part = line.split("dump ", 1)[1].strip()
                elif line.startswith(("totals:", "summary:")):
                    total = int(line.split()[1])
                    break
            if part is not None and total is not None:
                counts.setdefault(part, []).append(total)
    empty = sum(counts.pop(_EMPTY)) // 2
    return {path: (counts[path][0] - empty) // n for path in _paths(otel)}


def _paths(otel: bool) -> tuple[str, ...]:
    return PATHS + OTEL_PATHS if otel else PATHS


def main(argv: list[str]) -> None:
    otel = "--otel" in argv or "--smoke" in argv  # the smoke run covers the OTel paths too
    if argv[:1] == ["--one"]:
        asyncio.run(_run(int(argv[1]), _counted, otel))
        return
    if "--callgrind" in argv:
        n = 100
        counts = _callgrind(n, otel)
        for path, count in counts.items():
            print(f"{path:<24} {count / 1e3:9.1f}K instructions/request")
        for mode in ("generate", "stream"):
            extra = counts[f"pepperpy {mode}"] - counts[f"raw {mode}"]
            print(f"{VENDOR} {mode}: PepperPy adds {extra / 1e3:.1f}K "
                  f"({counts[f'pepperpy {mode}'] / counts[f'raw {mode}']:.3f}x the raw SDK's)")
        if otel:
            _otel_split(counts, "K instructions", 1e3)
        return
    if "--smoke" in argv and VENDOR == "anthropic":  # the smoke run covers --openai too
        subprocess.run([sys.executable, __file__, "--smoke", "--openai"], check=True)
    n, runs = (5, 1) if "--smoke" in argv else (500, 3)
    cpu: dict[str, float] = {}
    for path in _paths(otel):
        best = min(asyncio.run(_run(n, partial(_cpu, path), otel)) for _ in range(runs))
        cpu[path] = best / n
        print(f"{path:<24} {best / n * 1e6:8.1f} us CPU/request (best of {runs} x {n})")
    if otel:
        _otel_split(cpu, " us CPU", 1e-6)


def _otel_split(per_request: Mapping[str, float], unit: str, scale: float) -> None:
    """A traced generate's extra over the untraced one, split into whose work it is."""
    raw, ours = per_request["raw generate"], per_request["pepperpy generate"]
    sdk = per_request["raw generate + span"] - raw
    own = per_request["pepperpy generate, OTel"] - ours - sdk
    print(f"OTel generate: the SDK's span {sdk / scale:+.1f}{unit}, PepperPy's tracing code "
          f"{own / scale:+.1f}{unit}; traced PepperPy "
          f"{per_request['pepperpy generate, OTel'] / raw:.3f}x the raw SDK's")


if __name__ == "__main__":
    main(sys.argv[1:])
