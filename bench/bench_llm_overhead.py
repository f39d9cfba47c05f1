"""Per-request overhead of PepperPy over the raw SDK, against the same loopback server.

    .venv/bin/python bench/bench_llm_overhead.py [N] [--smoke]

For each vendor (openai, anthropic) and mode (generate; stream = time to last chunk),
runs N requests through the raw SDK and N through PepperPy, interleaved pair by pair
so drift affects both equally, and prints the median of the per-pair ratios
(PepperPy time / raw time), with the spread of per-round medians (10 rounds). PepperPy
runs its whole call path with default settings (retry on, usage totals) plus
``with_timeout(30)``: target <= 1.03. Then once more for openai with the OpenTelemetry
SDK as the global tracer provider (a batch processor into a no-op exporter, as in
production): target <= 1.05, with a reference row beside it: the raw SDK inside the very
span PepperPy makes (same name, kind and attributes, through the SDK directly) vs the
raw SDK alone, i.e. what the SDK's own span costs a request. Both sides share one client
configuration and one keep-alive server; the plugins are built from plugin_src into
signed bundles and loaded by the plugin manager. The baseline is the SDK as an
application calls it, model objects and all; PepperPy's openai provider has the SDK send
the request but reads the JSON body and the server-sent events itself, so its rows can
read below 1. Each row also gives the client thread's CPU time per request over the raw
SDK's (the server thread excluded): the layer's own cost, less exposed to other load on
the machine than the wall-clock ratio. ``--smoke``:
5 requests per side and a short warm-up, to check that the script still runs (the test
suite does).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import anthropic  # noqa: E402
import openai  # noqa: E402
from _signed import signed_registry  # noqa: E402

from pepperpy import PepperPy  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402
from pepperpy_testing.wire.anthropic import AnthropicServer  # noqa: E402
from pepperpy_testing.wire.openai import OpenAIServer  # noqa: E402

KEY = "sk-bench"
PROMPT = "The quick brown fox jumps over the lazy dog " * 4
Timed = Callable[[], Awaitable[None]]


def registry(workdir: Path) -> ProviderRegistry:
    return signed_registry(workdir, "llm_openai_provider", "llm_anthropic_provider")


async def measure(pairs: list[tuple[str, Timed, Timed]], n: int,
                  target: float | None = 1.03) -> None:
    """``target`` None: a reference row, printed without a verdict."""
    for label, raw, ours in pairs:
        for _ in range(min(50, n)):  # warm up connections, imports, caches
            await raw()
            await ours()
        raw_times, our_times = [], []
        raw_cpu, our_cpu = [], []
        for i in range(n):
            order = (raw, ours) if i % 2 == 0 else (ours, raw)
            for fn in order:
                cpu = time.thread_time()  # this thread only: the server has its own
                started = time.perf_counter()
                await fn()
                elapsed = time.perf_counter() - started
                (raw_times if fn is raw else our_times).append(elapsed)
                (raw_cpu if fn is raw else our_cpu).append(time.thread_time() - cpu)
        raw_med, our_med = statistics.median(raw_times), statistics.median(our_times)
        # Median of per-pair ratios: robust to the machine drifting during the run.
        ratios = [o / r for o, r in zip(our_times, raw_times, strict=True)]
        ratio = statistics.median(ratios)
        step = max(1, n // 10)
        rounds = [statistics.median(ratios[i:i + step]) for i in range(0, n, step)]
        flag = ("reference" if target is None else "ok" if ratio <= target
                else "ABOVE TARGET")
        # CPU time of the client thread: what the layer costs, less exposed to a busy machine.
        extra = statistics.median(o - r for o, r in zip(our_cpu, raw_cpu, strict=True))
        print(f"{label:<26} raw {raw_med * 1e3:7.3f} ms  pepperpy {our_med * 1e3:7.3f} ms  "
              f"median paired ratio {ratio:5.3f} (rounds {min(rounds):.3f}..{max(rounds):.3f}, "
              f"target <= {target or '-'})  {flag}; client CPU {extra * 1e6:+.0f} us/request "
              f"(ratio {statistics.median(our_cpu) / statistics.median(raw_cpu):.3f})")


async def openai_pairs(server: OpenAIServer, reg: ProviderRegistry) -> tuple[list, PepperPy]:
    url = server.url + "/v1"
    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, timeout=60.0, max_retries=2)
    pepper = (PepperPy(registry=reg).with_llm("openai", api_key=KEY, base_url=url, model="m")
              .with_timeout(30))
    await pepper.initialize()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]

    async def raw_generate() -> None:
        r = await client.chat.completions.create(model="m", messages=messages)
        assert r.choices[0].message.content

    async def raw_stream() -> None:
        stream = await client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True})
        async for _ in stream:
            pass

    async def ours_generate() -> None:
        r = await pepper.chat.with_system("Be brief.").with_user(PROMPT).generate()
        assert r.content

    async def ours_stream() -> None:
        async for _ in pepper.chat.with_system("Be brief.").with_user(PROMPT).stream():
            pass

    return [("openai generate", raw_generate, ours_generate),
            ("openai stream", raw_stream, ours_stream)], pepper


async def anthropic_pairs(server: AnthropicServer, reg: ProviderRegistry) -> tuple[
    list, PepperPy
]:
    client = anthropic.AsyncAnthropic(api_key=KEY, base_url=server.url, timeout=60.0,
                                      max_retries=2)
    pepper = (PepperPy(registry=reg).with_llm("anthropic", api_key=KEY, base_url=server.url,
                                              model="m").with_timeout(30))
    await pepper.initialize()
    messages = [{"role": "user", "content": PROMPT}]

    async def raw_generate() -> None:
        r = await client.messages.create(model="m", max_tokens=1024, system="Be brief.",
                                         messages=messages)
        assert r.content

    async def raw_stream() -> None:
        stream = await client.messages.create(model="m", max_tokens=1024, system="Be brief.",
                                              messages=messages, stream=True)
        async for _ in stream:
            pass

    async def ours_generate() -> None:
        r = await pepper.chat.with_system("Be brief.").with_user(PROMPT).generate()
        assert r.content

    async def ours_stream() -> None:
        async for _ in pepper.chat.with_system("Be brief.").with_user(PROMPT).stream():
            pass

    return [("anthropic generate", raw_generate, ours_generate),
            ("anthropic stream", raw_stream, ours_stream)], pepper


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as workdir:
        await run(n, registry(Path(workdir)))


async def run(n: int, reg: ProviderRegistry) -> None:
    with OpenAIServer() as oserver, AnthropicServer() as aserver:
        oserver.record = aserver.record = False
        print(f"N={n} per side, interleaved; median latency per request")
        for build, server in ((openai_pairs, oserver), (anthropic_pairs, aserver)):
            pairs, pepper = await build(server, reg)
            try:
                await measure(pairs, n)
            finally:
                await pepper.aclose()
        from bench_reliability import noop_tracer_provider
        from opentelemetry import trace

        trace.set_tracer_provider(noop_tracer_provider())  # type: ignore[arg-type]
        pairs, pepper = await openai_pairs(oserver, reg)
        try:
            await measure([(f"{label}, OTel SDK", raw, ours) for label, raw, ours in pairs], n,
                          target=1.05)
            await measure([("raw + SDK span (ref.)", pairs[0][1],
                            with_span(trace.get_tracer("pepperpy"), pairs[0][1]))], n,
                          target=None)
        finally:
            await pepper.aclose()


def with_span(tracer: object, raw: Timed, system: str = "openai") -> Timed:
    """``raw`` inside the span PepperPy makes for a generate (the wire servers' answer:
    38 and 37 tokens, model "m", finish "stop"), through the SDK directly."""
    from opentelemetry import context, trace

    async def traced() -> None:
        span = tracer.start_span(  # type: ignore[attr-defined]
            "chat m", context=context.get_current(), kind=trace.SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.system": system,
                "gen_ai.request.model": "m"})
        await raw()
        span.set_attributes({"gen_ai.usage.input_tokens": 38, "gen_ai.usage.output_tokens": 37,
                             "gen_ai.response.model": "m",
                             "gen_ai.response.finish_reasons": ("stop",)})
        span.end()

    return traced


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--smoke"]
    asyncio.run(main(5 if "--smoke" in sys.argv else int(args[0]) if args else 200))
