"""Work counted per anthropic request: raw SDK vs PepperPy, with no network and no threads.

    .venv/bin/python bench/bench_count_call_path.py            # CPU time per request, each path
    .venv/bin/python bench/bench_count_call_path.py --callgrind  # instructions per request
    .venv/bin/python bench/bench_count_call_path.py --smoke      # a few requests (tests)

Wall-clock ratios (bench_llm_overhead.py) swing with the machine's load; this script
counts the work itself. Both sides use the real ``anthropic`` SDK over an in-process
``httpx.MockTransport`` that answers with the same bytes as the wire test server (a
JSON message, or the SSE event sequence: message_start, content_block_start, ping, one
text delta per word, content_block_stop, message_delta, message_stop). PepperPy runs
the signed plugin bundle through its whole call path with ``with_timeout(30)``, as in
the bench; only its SDK client is rebuilt on the in-process transport after start-up.
With ``--callgrind`` each path runs under ``valgrind --tool=callgrind`` twice (20
warm-up requests, then 0 or N more, PYTHONHASHSEED=0) and the difference over N is
printed (start-up's objects frozen out of the collector after the warm-up, both sides
alike), so small changes show.
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
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

PATHS = ("raw generate", "pepperpy generate", "raw stream", "pepperpy stream")
PROMPT = "The quick brown fox jumps over the lazy dog " * 4
KEY = "sk-bench"


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


def _client() -> object:
    import anthropic

    try:  # recent SDKs ship their own fork of httpx and reject the original's clients
        import httpx2 as httpx
    except ImportError:
        import httpx  # type: ignore[no-redef]

    events, message = _sse(), _message()

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

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return anthropic.AsyncAnthropic(api_key=KEY, base_url="http://wire.invalid",
                                    timeout=60.0, max_retries=0, http_client=http)


async def _requests(path: str, n: int) -> float:
    """Run 20 warm-up requests and ``n`` more on ``path``; CPU seconds of the ``n``."""
    from _signed import signed_registry

    from pepperpy import PepperPy

    client = _client()
    with tempfile.TemporaryDirectory(prefix="pepperpy-count-") as workdir:
        reg = signed_registry(Path(workdir), "llm_anthropic_provider")
        pepper = (PepperPy(registry=reg).with_llm("anthropic", api_key=KEY, model="m")
                  .with_timeout(30))
        await pepper.initialize()
        provider = await pepper._provider("llm")
        provider._client = client  # type: ignore[attr-defined]  # same SDK, in-process bytes
        messages = [{"role": "user", "content": PROMPT}]

        async def raw_generate() -> None:
            r = await client.messages.create(  # type: ignore[attr-defined]
                model="m", max_tokens=1024, system="Be brief.", messages=messages)
            assert r.content

        async def raw_stream() -> None:
            stream = await client.messages.create(  # type: ignore[attr-defined]
                model="m", max_tokens=1024, system="Be brief.", messages=messages, stream=True)
            async for _ in stream:
                pass

        async def ours_generate() -> None:
            r = await pepper.chat.with_system("Be brief.").with_user(PROMPT).generate()
            assert r.content

        async def ours_stream() -> None:
            async for _ in pepper.chat.with_system("Be brief.").with_user(PROMPT).stream():
                pass

        fn: Callable[[], Awaitable[None]] = dict(zip(
            PATHS, (raw_generate, ours_generate, raw_stream, ours_stream), strict=True))[path]
        for _ in range(20):
            await fn()
        # Start-up's objects out of the collector's view: otherwise a full collection (tens
        # of millions of instructions over the SDKs' objects) lands in one run and not in
        # the next, and the per-request count moves by ~150K between runs of the same code.
        gc.collect()
        gc.freeze()
        started = time.thread_time()
        for _ in range(n):
            await fn()
        spent = time.thread_time() - started
        await pepper.aclose()
        return spent


def _callgrind(path: str, n: int) -> int:
    totals = []
    with tempfile.TemporaryDirectory(prefix="pepperpy-cg-") as out:
        for count in (0, n):
            target = f"{out}/cg.{count}"
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={target}",
                 sys.executable, __file__, "--one", path, str(count)],
                check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            for line in Path(target).read_text(errors="replace").splitlines():
                if line.startswith(("totals:", "summary:")):
                    totals.append(int(line.split()[1]))
                    break
    return (totals[1] - totals[0]) // n


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        asyncio.run(_requests(argv[1], int(argv[2])))
        return
    if "--callgrind" in argv:
        n = 100
        counts = {path: _callgrind(path, n) for path in PATHS}
        for path, count in counts.items():
            print(f"{path:<20} {count / 1e3:9.1f}K instructions/request")
        for mode in ("generate", "stream"):
            extra = counts[f"pepperpy {mode}"] - counts[f"raw {mode}"]
            print(f"anthropic {mode}: PepperPy adds {extra / 1e3:.1f}K "
                  f"({counts[f'pepperpy {mode}'] / counts[f'raw {mode}']:.3f}x the raw SDK's)")
        return
    n, runs = (5, 1) if "--smoke" in argv else (500, 3)
    for path in PATHS:
        best = min(asyncio.run(_requests(path, n)) for _ in range(runs))
        print(f"{path:<20} {best / n * 1e6:8.1f} us CPU/request (best of {runs} x {n})")


if __name__ == "__main__":
    main(sys.argv[1:])
