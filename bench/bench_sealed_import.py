"""Cold import of a verified plugin: sealed (from memory) vs the former zipimport path.

Each sample is a fresh interpreter that already holds the verified bundle bytes (as the
plugin manager does after verification) and has imported the modules both paths share;
the timer covers only getting the provider class and reading one data file through
``importlib.resources``:

* sealed   : ``sealed.import_bundle(verified)`` (the gate's VerifiedBundle; imports
             and data served from the bytes in memory) -- what PepperPy does now;
* zipimport: the former loader, kept here as the baseline: re-hash the pinned copy on
             disk, run the root ``__init__.py`` through a ``zipimporter``, let the
             zipimport path hook import the rest, read data with ``zipfile.Path``;
* folder   : the same files imported from a plain folder (no bundle at all).

Runs are interleaved (background load hits all alike); medians of ``--runs``. Printed
for the echo test plugin and for the local embeddings plugin (466 KB tokenizer.json).

Run: ``.venv/bin/python bench/bench_sealed_import.py [--runs N] [--smoke]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from plugins.fixtures.echo import echo_files  # noqa: E402

from pepperpy.bundle.build import build_bytes, collect_files  # noqa: E402
from pepperpy.bundle.keys import SigningKey  # noqa: E402

CHILD = r'''
import hashlib, importlib, importlib.machinery, importlib.util, os, sys, time, types
import pepperpy.llm, pepperpy.embeddings, pepperpy.trust.archive, pepperpy.trust.sealed
from pathlib import Path

mode, bundle, pinned, folder, entry, data_name = sys.argv[1:7]
data = Path(bundle).read_bytes()
digest = hashlib.sha256(data).hexdigest()
package = f"_pepperpy_plugins.bench_{digest}"
module_name, _, attr = entry.partition(":")


def zipimport_baseline():
    import zipimport
    if hashlib.sha256(Path(pinned).read_bytes()).hexdigest() != digest:  # former pin()
        raise SystemExit("pinned copy differs")
    archive = zipimport.zipimporter(pinned)

    class Root:
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            path = pinned + "/__init__.py"
            source = archive.get_data(path)
            exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)

        def get_resource_reader(self, fullname):
            import zipfile
            from importlib.resources.abc import TraversableResources

            class Reader(TraversableResources):
                def files(self):
                    return zipfile.Path(pinned)
            return Reader()

    ns = types.ModuleType("_pepperpy_plugins")
    ns.__path__ = []
    sys.modules["_pepperpy_plugins"] = ns
    spec = importlib.machinery.ModuleSpec(package, Root(), origin=pinned + "/__init__.py",
                                          is_package=True)
    spec.submodule_search_locations = [pinned]
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    return getattr(importlib.import_module(f"{package}.{module_name}"), attr)


if mode == "sealed":  # verified before the timer starts, as the plugin manager does
    from pepperpy.trust.gate import verify_bundle
    from pepperpy.trust.types import TrustedKey, TrustSnapshot

    raw = bytes.fromhex(os.environ["BENCH_PUBLIC_KEY"])
    record = TrustedKey(hashlib.sha256(raw).hexdigest(), "bench", raw, "")
    verified = verify_bundle(data, TrustSnapshot(types.MappingProxyType({record.key_id: record})))


def sealed():
    from pepperpy.trust.sealed import import_bundle
    return import_bundle(verified, location=Path(bundle))


def plain_folder():
    sys.path.insert(0, str(Path(folder).parent))
    return getattr(importlib.import_module(f"{Path(folder).name}.{module_name}"), attr)


sys.dont_write_bytecode = True  # plugin code is compiled from source in every mode
start, cpu = time.perf_counter(), time.process_time()
cls = {"sealed": sealed, "zipimport": zipimport_baseline, "folder": plain_folder}[mode]()
from importlib import resources
text = resources.files(sys.modules[cls.__module__].__package__).joinpath(data_name).read_bytes()
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
assert len(text) > 10
print(elapsed, cpu)
'''

MODES = ("folder", "zipimport", "sealed")


def _prepare(tmp: Path, label: str, files: list[tuple[str, bytes]], key: SigningKey
             ) -> list[str]:
    data = build_bytes(files, key).data
    bundle = tmp / f"{label}.pepperplugin"
    bundle.write_bytes(data)
    pinned = tmp / "pinned" / f"{hashlib.sha256(data).hexdigest()}.pepperplugin"
    pinned.parent.mkdir(exist_ok=True)
    pinned.write_bytes(data)
    folder = tmp / "plain" / f"{label}_plain"
    for name, content in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return [str(bundle), str(pinned), str(folder)]


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds; CPU time is the steadier figure on a busy machine."""
    out = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True,
                         text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="one run (CI checks it works)")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(tmp / "pyc"),
                   BENCH_PUBLIC_KEY=key.public_key.raw.hex())
        local, _ = collect_files(REPO / "plugin_src" / "embeddings_local_provider")
        cases = [
            ("echo plugin", _prepare(tmp, "echo", echo_files(marker=tmp / "m"), key),
             "provider:EchoProvider", "data/greeting.txt"),
            ("local embeddings plugin", _prepare(tmp, "local", local, key),
             "provider:LocalEmbeddingProvider", "tokenizer.json"),
        ]
        print(f"cold import + one resource read, fresh process (median of {runs}; "
              "interpreter start and shared imports excluded)")
        for label, paths, entry, data_name in cases:
            samples: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
            for mode in MODES:  # warm the OS page cache and the core's pyc cache
                _child([mode, *paths, entry, data_name], env)
            for _ in range(runs):
                for mode in MODES:
                    samples[mode].append(_child([mode, *paths, entry, data_name], env))
            print(f"  {label}: wall ms / CPU ms")
            med = {}
            for mode, title in (("folder", "plain folder"), ("zipimport", "zipimport (former)"),
                                ("sealed", "sealed, from memory")):
                wall = statistics.median(w for w, _ in samples[mode]) * 1000
                cpu = statistics.median(c for _, c in samples[mode]) * 1000
                med[mode] = (wall, cpu)
                print(f"    {title:20}: {wall:7.2f} / {cpu:7.2f}")
            (zw, zc), (sw, sc) = med["zipimport"], med["sealed"]
            print(f"    sealed vs zipimport : {sw - zw:+7.2f} / {sc - zc:+7.2f} ms "
                  f"(ratio {sw / zw:.2f}x / {sc / zc:.2f}x)")

if __name__ == "__main__":
    main()
