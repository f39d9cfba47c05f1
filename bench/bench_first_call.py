"""A fresh process that loads the openai plugin and makes one call, vs the raw SDK.

    .venv/bin/python bench/bench_first_call.py [--smoke]

Each side is a new interpreter against the same loopback wire server: PepperPy
(``PepperPy().with_llm("openai", ...)`` from an installed, verified bundle, one
``generate_sync``) against the raw openai SDK doing the same request (``AsyncOpenAI``
under ``asyncio.run``, the client the plugin uses; the sync ``OpenAI`` client is printed
for reference). Runs are interleaved so background load hits every side alike; the
figure is the median of per-round ratios of wall time, with their min..max
(target <= 1.05), and how many more modules PepperPy's process imported.
``--smoke``: two rounds (the test suite checks that the script runs).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pepperpy.plugins.install import install_bundle  # noqa: E402
from pepperpy.settings import Settings  # noqa: E402
from pepperpy_testing.bundles import BundleFactory  # noqa: E402
from pepperpy_testing.wire import OpenAIServer  # noqa: E402

SMOKE = "--smoke" in sys.argv
ROUNDS = 2 if SMOKE else 11

OURS = """
import sys
from pepperpy import PepperPy
with PepperPy().with_llm("openai", api_key="sk-bench", base_url={url!r}, model="m") as p:
    assert p.chat.with_user("hi").generate_sync().content
print(len(sys.modules))
"""
RAW_ASYNC = """
import asyncio, sys
import openai
async def main():
    async with openai.AsyncOpenAI(api_key="sk-bench", base_url={url!r}) as c:
        r = await c.chat.completions.create(
            model="m", messages=[{{"role": "user", "content": "hi"}}])
        assert r.choices[0].message.content
asyncio.run(main())
print(len(sys.modules))
"""
RAW_SYNC = """
import sys
import openai
with openai.OpenAI(api_key="sk-bench", base_url={url!r}) as c:
    r = c.chat.completions.create(model="m", messages=[{{"role": "user", "content": "hi"}}])
    assert r.choices[0].message.content
print(len(sys.modules))
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _settle(folder: Path) -> None:
    """Wait until ``folder`` is older than the dependency memo's racy window (see
    bench_plugin_load.py): an application's folder is not written while it starts."""
    from pepperpy.plugins.depcache import _RACY_NS

    st = os.stat(folder)
    newest = max(st.st_mtime_ns, st.st_ctime_ns)
    time.sleep(max(0.0, (newest + _RACY_NS - time.time_ns()) / 1e9 + 0.05))


def _run(code: str, env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and module count of one child process."""
    cpu, start = _cpu(), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                         text=True, check=False)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return wall, cpu, int(out.stdout.split()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as name, OpenAIServer() as server:
        server.record = False
        tmp = Path(name)
        factory = BundleFactory(publisher="bench")
        bundle = tmp / "openai.pepperplugin"
        bundle.write_bytes(factory.build_folder(ROOT / "plugin_src" / "llm_openai_provider"))
        factory.trust(tmp / "home")
        install_bundle(bundle, settings=Settings(home=tmp / "home"))
        env = dict(os.environ, PEPPERPY_HOME=str(tmp / "home"), PEPPERPY_AUTO_INSTALL="0")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run = tmp / "run"  # the children's working folder (on their sys.path), left alone
        run.mkdir()
        _settle(run)
        url = server.url + "/v1"
        sides = {"pepperpy": OURS, "raw AsyncOpenAI": RAW_ASYNC, "raw OpenAI (sync)": RAW_SYNC}
        codes = {k: v.format(url=url) for k, v in sides.items()}
        for code in codes.values():  # warm: bytecode caches, the verified cache
            _run(code, env, run)
        walls: dict[str, list[float]] = {k: [] for k in codes}
        cpus: dict[str, list[float]] = {k: [] for k in codes}
        modules: dict[str, int] = {}
        for i in range(ROUNDS):
            order = list(codes) if i % 2 == 0 else list(reversed(codes))
            for side in order:
                wall, cpu, modules[side] = _run(codes[side], env, run)
                walls[side].append(wall)
                cpus[side].append(cpu)
    print(f"fresh process: load the openai plugin, one call ({ROUNDS} interleaved rounds, "
          "interpreter start included; CPU time = user + system, steadier on a busy machine)")
    for side in codes:
        print(f"  {side:<18} wall {statistics.median(walls[side]) * 1e3:7.1f} ms, "
              f"CPU {statistics.median(cpus[side]) * 1e3:7.1f} ms, {modules[side]} modules")
    for base in ("raw AsyncOpenAI", "raw OpenAI (sync)"):
        target = " (target <= 1.05)" if base == "raw AsyncOpenAI" else ""
        for label, series in (("wall", walls), ("CPU", cpus)):
            ratios = [o / b for o, b in zip(series["pepperpy"], series[base], strict=True)]
            print(f"  pepperpy / {base:<18} {label:<4} {statistics.median(ratios):.3f} "
                  f"(rounds {min(ratios):.3f}..{max(ratios):.3f}){target}")


if __name__ == "__main__":
    main()
