"""Cost of the reliability layer, and what a cache hit saves, on a loopback server.

    .venv/bin/python bench/bench_reliability.py [--smoke] [N]

1. Overhead: a chat through the whole layer (retry policy, a deadline, usage totals and
   OpenTelemetry spans into a no-op exporter) vs the direct path the chat builder took
   before the layer existed (builder -> provider), same provider object, same
   keep-alive server. Requests are interleaved pair by pair so drift hits both sides;
   the figure is the median of per-pair ratios (target <= 1.03).
2. Cache: a cache hit (in-process LRU, and from sqlite with the LRU emptied) vs the
   same request over loopback HTTP (target: at least 20x faster).

Plugins come from plugin_src as signed bundles through the real plugin manager, as in
the tests. ``--smoke`` runs a few rounds only (CI checks that the script works).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pepperpy import PepperPy  # noqa: E402
from pepperpy.chat import ChatBuilder  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402
from pepperpy.testing.wire import OpenAIServer  # noqa: E402

PLUGINS = ("llm_openai_provider", "storage_sqlite_provider")
PROMPT = "The quick brown fox jumps over the lazy dog " * 4
Timed = Callable[[], Awaitable[object]]


def registry(home: Path) -> ProviderRegistry:
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.settings import Settings
    from pepperpy.testing_bundles import BundleFactory
    from pepperpy.trust.manifest import parse_manifest

    factory = BundleFactory(publisher="bench")
    folder = home / "bundles"
    folder.mkdir()
    for name in PLUGINS:
        src = ROOT / "plugin_src" / name
        manifest = parse_manifest((src / "plugin.json").read_bytes())
        (folder / f"{manifest.name}-{manifest.version}.pepperplugin").write_bytes(
            factory.build_folder(src))
    factory.trust(home / "home")
    settings = Settings(home=home / "home", dev_mode=True, plugin_path=(folder,),
                        auto_install=False, checkout_plugins=False)
    return ProviderRegistry(resolver=PluginManager(settings))


def noop_tracer_provider() -> object:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class NoopExporter(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoopExporter()))  # as in production
    return provider


async def paired(label: str, base: Timed, ours: Timed, n: int, warmup: int) -> float:
    for _ in range(warmup):
        await base()
        await ours()
    base_times, our_times = [], []
    for i in range(n):
        for fn in ((base, ours) if i % 2 == 0 else (ours, base)):
            started = time.perf_counter()
            await fn()
            (base_times if fn is base else our_times).append(time.perf_counter() - started)
    ratio = statistics.median(o / b for o, b in zip(our_times, base_times, strict=True))
    print(f"{label:<34} base {statistics.median(base_times) * 1e3:8.3f} ms   "
          f"ours {statistics.median(our_times) * 1e3:8.3f} ms   ratio {ratio:6.3f}")
    return ratio


async def overhead(reg: ProviderRegistry, url: str, n: int, warmup: int) -> None:
    pepper = (PepperPy(registry=reg).with_llm("openai", api_key="sk-bench", base_url=url,
                                               model="m")
              .with_retry().with_timeout(30)
              .with_tracing(tracer_provider=noop_tracer_provider()))
    async with pepper:
        provider = pepper._providers["llm"]

        async def direct_provider() -> object:
            return provider

        def direct() -> ChatBuilder:  # the builder over the bare provider: the old path
            return ChatBuilder(direct_provider, run=pepper._sync.run)  # type: ignore[arg-type]

        async def base_generate() -> object:
            return await direct().with_system("Be brief.").with_user(PROMPT).generate()

        async def ours_generate() -> object:
            return await pepper.chat.with_system("Be brief.").with_user(PROMPT).generate()

        async def base_stream() -> object:
            return [c async for c in direct().with_user(PROMPT).stream()]

        async def ours_stream() -> object:
            return [c async for c in pepper.chat.with_user(PROMPT).stream()]

        print("-- per-request overhead of the layer (target <= 1.03)")
        await paired("generate: layer / direct", base_generate, ours_generate, n, warmup)
        await paired("stream: layer / direct", base_stream, ours_stream, n, warmup)
        assert pepper.usage.total.requests >= 2 * (n + warmup)


async def cache(reg: ProviderRegistry, url: str, data: Path, n: int, warmup: int) -> None:
    pepper = (PepperPy(registry=reg).with_llm("openai", api_key="sk-bench", base_url=url,
                                               model="m")
              .with_storage("sqlite", path=str(data / "cache.db")).with_cache())
    async with pepper:
        cache = pepper._reliability.cache
        assert cache is not None

        async def request() -> object:  # temperature 0.5: never cached
            return await pepper.chat.with_temperature(0.5).with_user(PROMPT).generate()

        async def hit() -> object:
            result = await pepper.chat.with_temperature(0).with_user(PROMPT).generate()
            assert result.cached
            return result

        async def storage_hit() -> object:
            cache._memory.clear()  # as a new process (or another machine) would see it
            return await hit()

        await pepper.chat.with_temperature(0).with_user(PROMPT).generate()  # fill it
        print("-- cache hit vs a loopback request (target: >= 20x faster)")
        for label, fn in (("hit (in-process) / request", hit),
                          ("hit (sqlite) / request", storage_hit)):
            ratio = await paired(label, request, fn, n, warmup)
            print(f"{'':<34} -> a hit is {1 / ratio:.0f}x faster")


async def main(n: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, OpenAIServer() as server:
        server.record = False
        reg = registry(Path(tmp))
        print(f"N={n} pairs per line (after {warmup} warm-up pairs), interleaved")
        await overhead(reg, server.url + "/v1", n, warmup)
        await cache(reg, server.url + "/v1", Path(tmp), n, warmup)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=300, help="pairs per line")
    parser.add_argument("--smoke", action="store_true", help="a few rounds only (CI)")
    args = parser.parse_args()
    asyncio.run(main(5, 2) if args.smoke else main(args.n, 50))
