"""Plugin-manager benchmarks (prints numbers and ratios; not a test).

1. Discovery of 1,000 bundles (warm index cache, and cold) vs reading each
   ``plugin.json`` with ``zipfile`` alone. Target: warm <= 2x.
2. Cold load of a verified plugin in a fresh process (discover, verify, import)
   vs importing the same code from a plain folder. Target: <= 10 ms more. Printed for
   two plugins: the echo test plugin (imports nothing heavy, so the bundle line pays
   for importing pydantic, jsonschema and cryptography's ed25519 once per process),
   and an SDK-like one whose own code imports pydantic models, as real providers do
   (openai, anthropic, chromadb): there both lines pay for pydantic, and the gap left
   is PepperPy's own work plus jsonschema and cryptography.
3. Dependency check when satisfied. Target: < 2 ms, zero subprocesses.

Run: ``.venv/bin/python bench/bench_discovery.py [--smoke]`` (``--smoke``: 20 bundles,
one run of each measurement: the script still runs). The plugin folders are only the
bench's own (``checkout_plugins=False``): a checkout's ``dist_plugins/`` is not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from plugins.fixtures.echo import echo_files  # noqa: E402

from pepperpy.bundle.build import build_bytes  # noqa: E402
from pepperpy.bundle.keys import SigningKey  # noqa: E402
from pepperpy.bundle.trust import TrustStore  # noqa: E402
from pepperpy.settings import Settings  # noqa: E402

SMOKE = "--smoke" in sys.argv
BUNDLES = 20 if SMOKE else 1000
RUNS = 1 if SMOKE else 7


def _best(fn, repeat: int = 1 if SMOKE else 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_discovery(tmp: Path, key: SigningKey) -> None:
    from pepperpy.plugins.discovery import discover

    folder = tmp / "many"
    folder.mkdir()
    for i in range(BUNDLES):  # distinct bytes: no verified-cache hit between files
        data = build_bytes(echo_files(marker=tmp / "m", version=f"1.0.{i}"), key).data
        (folder / f"p{i:04d}.pepperplugin").write_bytes(data)
    settings = Settings(home=tmp / "home", dev_mode=True, plugin_path=(folder,),
                        checkout_plugins=False)
    start = time.perf_counter()
    discover(settings)  # cold: no index, and no file signed by a trusted key
    untrusted = time.perf_counter() - start
    (settings.cache_dir / "index.json").unlink()
    TrustStore(settings.trust_file).add(key.public_key.pem(), publisher="bench")
    paths = sorted(folder.iterdir())

    def baseline() -> None:
        for p in paths:
            with zipfile.ZipFile(p) as z:
                json.loads(z.read("plugin.json"))

    base = _best(baseline)
    cold = []
    for _ in range(1 if SMOKE else 3):
        (settings.cache_dir / "index.json").unlink(missing_ok=True)
        (settings.home / "verified.json").unlink(missing_ok=True)
        start = time.perf_counter()
        discover(settings)
        cold.append(time.perf_counter() - start)
    warm = _best(lambda: discover(settings))
    found = len(discover(settings))
    assert found == BUNDLES, f"discovered {found} bundles, expected {BUNDLES}"
    print(f"discovery of {BUNDLES:,} bundles")
    print(f"  zipfile + json.loads only : {base * 1000:8.1f} ms")
    print(f"  discover, warm index      : {warm * 1000:8.1f} ms  ratio {warm / base:.2f}x "
          "(target <= 2x)")
    print(f"  discover, cold (no index) : {min(cold) * 1000:8.1f} ms  ratio "
          f"{min(cold) / base:.2f}x (every file fully verified before its manifest is read)")
    print(f"  discover, untrusted key   : {untrusted * 1000:8.1f} ms  ratio "
          f"{untrusted / base:.2f}x (each refused on its signature entry, rest unread)")


LOAD_PLUGIN = """
import sys, time
import pepperpy.llm
start = time.perf_counter()
from pepperpy.plugins.manager import PluginManager
loaded = PluginManager().resolve("llm", {provider!r})
print(time.perf_counter() - start)
"""

LOAD_FOLDER = """
import sys, time, importlib
import pepperpy.llm
start = time.perf_counter()
sys.dont_write_bytecode = True  # like a bundle: the plugin is compiled from source
sys.path.insert(0, {folder!r})
module = importlib.import_module({package!r} + ".provider")
cls = module.EchoProvider
print(time.perf_counter() - start)
"""

# SDK-like plugin code: pydantic response models, as openai/anthropic/chromadb define.
SDK_LIKE = b'''\
from typing import Literal, Optional

from pydantic import BaseModel, Field


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: Optional[str] = None


class Choice(BaseModel):
    index: int
    message: ChatMessage
    finish_reason: Optional[str] = None


class ChatCompletion(BaseModel):
    id: str
    model: str
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
'''


def _child(code: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=env["BENCH_CWD"])
    return float(out.stdout.strip().splitlines()[-1])


def _plugin_files(tmp: Path, *, sdk_like: bool) -> list[tuple[str, bytes]]:
    if not sdk_like:
        return echo_files(marker=tmp / "marker")
    files = dict(echo_files(marker=tmp / "marker", name="echosdk", provider_name="echosdk"))
    files["sdk_like.py"] = SDK_LIKE
    files["provider.py"] = b"from .sdk_like import ChatCompletion  # noqa: F401\n" + (
        files["provider.py"])
    return sorted(files.items())


def bench_cold_load(tmp: Path, key: SigningKey) -> None:
    from pepperpy.plugins.install import install_bundle

    home = tmp / "home2"
    TrustStore(home / "trust.json").add(key.public_key.pem(), publisher="bench")
    # Bytecode caches as in production, kept in a temporary prefix (no clutter in the
    # tree). Plugin code itself is always compiled from source: bundles are never cached.
    env = dict(os.environ, PEPPERPY_HOME=str(home), PYTHONPATH=str(REPO),
               PYTHONPYCACHEPREFIX=str(tmp / "pycache"), BENCH_CWD=str(tmp))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"cold load in a fresh process (median of {RUNS}; interpreter start excluded)")
    for label, sdk_like, provider in (
        ("echo plugin (no heavy imports of its own)", False, "echo"),
        ("SDK-like plugin (its code imports pydantic)", True, "echosdk"),
    ):
        files = _plugin_files(tmp, sdk_like=sdk_like)
        bundle = tmp / f"{provider}.pepperplugin"
        bundle.write_bytes(build_bytes(files, key).data)
        install_bundle(bundle, settings=Settings(home=home))
        plain = tmp / "plain" / f"{provider}_plain"
        for name, data in files:
            (plain / name).parent.mkdir(parents=True, exist_ok=True)
            (plain / name).write_bytes(data)
        load_plugin = LOAD_PLUGIN.format(provider=provider)
        load_folder = LOAD_FOLDER.format(folder=str(plain.parent), package=plain.name)
        _child(load_plugin, env)  # first run fills the index and pyc caches
        _child(load_folder, env)
        plugin, folder = [], []
        for _ in range(RUNS):  # interleaved, so background load hits both alike
            plugin.append(_child(load_plugin, env))
            folder.append(_child(load_folder, env))
        p, f = statistics.median(plugin), statistics.median(folder)
        print(f"  {label}")
        print(f"    plain folder import       : {f * 1000:8.2f} ms")
        print(f"    verified bundle (sealed)   : {p * 1000:7.2f} ms  "
              f"extra {(p - f) * 1000:.2f} ms (target <= 10 ms)")
    _print_split(env)


LOAD_SPLIT = """
import time
import pepperpy.llm
marks = [time.perf_counter()]
import pydantic.main, pydantic.fields  # what a pydantic model class needs
marks.append(time.perf_counter())
import jsonschema
marks.append(time.perf_counter())
import cryptography.hazmat.primitives.asymmetric.ed25519
marks.append(time.perf_counter())
from pepperpy.plugins.manager import PluginManager
PluginManager().resolve("llm", "echo")
marks.append(time.perf_counter())
print(" ".join(str(b - a) for a, b in zip(marks, marks[1:])))
"""


def _print_split(env: dict[str, str]) -> None:
    """Where the echo plugin's load time goes: library imports first, then the rest."""
    runs = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", LOAD_SPLIT], env=env, capture_output=True,
                             text=True, check=True, cwd=env["BENCH_CWD"])
        runs.append([float(x) for x in out.stdout.split()])
    pyd, js, crypto, own = (statistics.median(r[i] for r in runs) * 1000 for i in range(4))
    print(f"  echo plugin load, split (median of {RUNS}): one-time library imports pydantic "
          f"{pyd:.1f} ms, jsonschema {js:.1f} ms, cryptography ed25519 {crypto:.1f} ms; "
          f"PepperPy's own modules and work (discover, verify, import) {own:.1f} ms")


def bench_dependency_check() -> None:
    from pepperpy.plugins.dependencies import find_unsatisfied

    popens: list[object] = []
    sys.addaudithook(lambda e, a: popens.append(a) if e == "subprocess.Popen" else None)
    reqs = ("packaging>=20", "pydantic>=2", "jsonschema>=4", "cryptography>=40",
            'uv>=0.4; python_version >= "3.8"')
    # In a real load, verifying the manifest (check_dependency) already imported these.
    import packaging.markers
    import packaging.requirements
    import packaging.specifiers  # noqa: F401

    start = time.perf_counter()
    find_unsatisfied(reqs)  # first check: builds the per-process dist-info index
    first = time.perf_counter() - start
    n = 5 if SMOKE else 200
    start = time.perf_counter()
    for _ in range(n):
        assert not find_unsatisfied(reqs)
    per = (time.perf_counter() - start) / n
    print("dependency check when satisfied (5 requirements)")
    print(f"  per check                 : {per * 1000:8.3f} ms (target < 2 ms); "
          f"subprocesses: {len(popens)}")
    print(f"  first check in the process: {first * 1000:8.3f} ms (scans the sys.path "
          "folders once; later checks reuse it until a folder's mtime changes)")


def main() -> None:
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        bench_discovery(Path(tmp), key)
        bench_cold_load(Path(tmp), key)
    bench_dependency_check()


if __name__ == "__main__":
    main()
