"""`plugin install NAME` and a no-change `plugin update` against pip and uv, end to end.

    .venv/bin/python bench/bench_install.py [--smoke]

Every side is a fresh command-line process against loopback HTTP servers started by
this script, so interpreter start, index metadata, download, hashing and writing the
result all count:

1. ``pepperpy plugin install big --no-deps`` from a TUF index holding a 50 MB bundle
   (a fresh PEPPERPY_HOME per round, the index already added: warm metadata) vs
   ``pip install --no-deps`` and ``uv pip install --no-deps`` of a wheel of the same
   size from a PEP 503 simple index, each into a fresh ``--target`` folder, caches off
   (each side downloads the file every round). Targets: <= 1.0x pip, <= 1.5x uv.
2. ``pepperpy plugin update`` when nothing changed vs ``uv pip install --upgrade`` of
   the installed wheel (a no-op; uv's cache warm, as on a developer's machine).
   Target <= 1.5x.

3. SHA-256 passes over the bundle during one ``plugin install NAME`` (in this process:
   the bytes fed to every SHA-256 object ``hashlib`` hands out, over the bundle's size).
   Target 1.

Both PepperPy rows take the quick refresh (``pepperpy.distribution.unchanged``): the
index was added (a full, verified refresh that leaves its record) and has not changed
since, so the command proves it unchanged without importing the TUF client; after the
rows, one probe run of each command prints which path it took. The checkout's modules
are byte-compiled first, as an installed package's are (the child processes run
without ``PYTHONDONTWRITEBYTECODE``).

Rounds are interleaved; each line prints the median of per-round ratios with their
min..max, then each side's median CPU time (user + system of the command's process:
steadier than wall time on a shared machine; the loopback servers run in this script).
``--smoke``: a 2 MB file and two rounds (the test suite runs that).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.server
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pepperpy.bundle.keys import generate_key  # noqa: E402
from pepperpy.cli import main as cli  # noqa: E402
from pepperpy.distribution.fetch import add_index  # noqa: E402
from pepperpy.settings import Settings  # noqa: E402
from pepperpy_testing.bundles import BundleFactory  # noqa: E402

SMOKE = "--smoke" in sys.argv
SIZE = 2_000_000 if SMOKE else 50_000_000
ROUNDS = 2 if SMOKE else 7
BIN = Path(sys.executable).parent
UV = shutil.which("uv", path=str(BIN)) or shutil.which("uv") or "uv"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path) -> str:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def build_wheel(folder: Path, payload: bytes) -> Path:
    """A pure-Python wheel carrying ``payload`` as package data (stored as wheels are)."""
    files = {
        "bigwheel/__init__.py": b"",
        "bigwheel/weights.bin": payload,
        "bigwheel-1.0.0.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: bigwheel\nVersion: 1.0.0\n",
        "bigwheel-1.0.0.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("bigwheel-1.0.0.dist-info/RECORD,,")
    files["bigwheel-1.0.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / "bigwheel-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    page = folder / "simple" / "bigwheel" / "index.html"
    page.parent.mkdir(parents=True)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    page.write_text(f'<a href="../../{path.name}#sha256={sha}">{path.name}</a>\n')
    (folder / "simple" / "index.html").write_text('<a href="bigwheel/">bigwheel</a>\n')
    return path


def publish(work: Path, factory: BundleFactory, bundle: Path) -> tuple[str, Path]:
    key = generate_key(publisher="index", out_dir=work / "keys").private_path
    repo = work / "repo"
    os.environ["PEPPERPY_HOME"] = str(work / "publisher-home")
    factory.trust(work / "publisher-home")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli(["repo", "init", str(repo), "--key", str(key)]) == 0
        assert cli(["repo", "add", str(repo), str(bundle), "--key", str(key)]) == 0
    return serve(repo), repo / "metadata" / "1.root.json"


#: CPU seconds (user + system) of each child, by the side's name, filled by ``run``
CPU: dict[str, list[float]] = {}


def run(cmd: list[str], env: dict[str, str], side: str = "") -> float:
    """Wall seconds of one fresh process; its CPU seconds go to ``CPU[side]``."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read()  # one pipe: read to the end, then reap with its rusage
    child.stdout.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output[-4000:].decode(errors='replace')}")
    if side:
        CPU.setdefault(side, []).append(usage.ru_utime + usage.ru_stime)
    return took


def compare(title: str, sides: dict[str, Callable[[int], float]],
            targets: dict[str, float]) -> None:
    times: dict[str, list[float]] = {k: [] for k in sides}
    CPU.clear()
    for i in range(ROUNDS):
        for name in (list(sides) if i % 2 == 0 else list(reversed(sides))):
            times[name].append(sides[name](i))
    ours = times["pepperpy"]
    print(f"{title} ({ROUNDS} interleaved rounds)")
    for name, series in times.items():
        line = f"  {name:<34} median {statistics.median(series) * 1000:7.0f} ms"
        if name != "pepperpy":
            ratios = [o / b for o, b in zip(ours, series, strict=True)]
            line += (f"   pepperpy / this {statistics.median(ratios):.2f} "
                     f"({min(ratios):.2f}..{max(ratios):.2f}, target <= {targets[name]})")
        print(line)
    if len(CPU) == len(sides):  # CPU of the command alone (the loopback server is ours)
        cpu = ", ".join(f"{name} {statistics.median(CPU[name]) * 1000:.0f} ms"
                        for name in sides)
        print(f"  CPU (user + system, median): {cpu}")


class _Counted:
    """A SHA-256 object that adds every byte it is fed to ``fed``."""

    def __init__(self, inner: object, fed: list[int]) -> None:
        self._inner, self._fed = inner, fed

    def update(self, data: bytes) -> None:
        self._fed[0] += memoryview(data).nbytes
        self._inner.update(data)  # type: ignore[attr-defined]

    def copy(self) -> _Counted:
        return _Counted(self._inner.copy(), self._fed)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


PROBE = """
import contextlib, io, sys
from pepperpy.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
loaded = [m for m in ("tuf.ngclient", "tuf.api.metadata", "securesystemslib", "urllib3")
          if m in sys.modules]
print(code, " ".join(loaded))
"""


def which_path(argv: list[str], env: dict[str, str]) -> str:
    """Which refresh ``pepperpy ARGV`` took, from the modules it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, check=True,
                          capture_output=True, text=True)
    code, _, loaded = done.stdout.strip().splitlines()[-1].partition(" ")
    if code != "0":
        raise SystemExit(f"pepperpy {' '.join(argv)} failed in the probe run")
    if loaded:
        return f"full ngclient refresh (loaded {loaded})"
    return "quick refresh: index unchanged since its last verified refresh, TUF client not loaded"


def hash_passes(work: Path, url: str, root: Path, factory: BundleFactory, size: int) -> float:
    """Bytes hashed with SHA-256 during one install by name, in bundle sizes."""
    from pepperpy.distribution.fetch import Session

    settings = Settings(home=work / "count-home", auto_install=False, checkout_plugins=False)
    factory.trust(settings.home)
    add_index(settings, "main", url, root)
    fed = [0]
    real_sha256, real_new = hashlib.sha256, hashlib.new

    def sha256(data: bytes = b"", **kw: object) -> _Counted:
        counted = _Counted(real_sha256(**kw), fed)  # type: ignore[arg-type]
        counted.update(data)
        return counted

    def new(name: str, data: bytes = b"", **kw: object) -> object:
        if name.lower() != "sha256":
            return real_new(name, data, **kw)  # type: ignore[arg-type]
        return sha256(data)

    hashlib.sha256, hashlib.new = sha256, new  # type: ignore[assignment]
    try:
        Session(settings).install("big", deps=False)
    finally:
        hashlib.sha256, hashlib.new = real_sha256, real_new  # type: ignore[assignment]
    return fed[0] / size


def main() -> None:
    import compileall

    os.environ["PEPPERPY_CHECKOUT_PLUGINS"] = "0"
    compileall.compile_dir(ROOT / "pepperpy", quiet=1)
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-install-") as name:
        work = Path(name)
        payload = os.urandom(SIZE)
        factory = BundleFactory(publisher="acme")
        files = factory.files(manifest={"name": "big", "provider_name": "big",
                                        "entry_point": "big_pkg:Provider"},
                              extra={"model/weights.bin": payload})
        bundle = work / "big-1.0.0.pepperplugin"
        bundle.write_bytes(factory.build(files))
        url, root = publish(work, factory, bundle)
        wheels = work / "wheels"
        wheels.mkdir()
        wheel = build_wheel(wheels, payload)
        simple = serve(wheels) + "/simple"
        print(f"bundle {bundle.stat().st_size / 1e6:.1f} MB, "
              f"wheel {wheel.stat().st_size / 1e6:.1f} MB")

        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PIP_", "UV_", "PEPPERPY_"))
                    and k != "PYTHONDONTWRITEBYTECODE"}
        base_env["PEPPERPY_CHECKOUT_PLUGINS"] = "0"
        pepperpy = [str(BIN / "pepperpy")] if (BIN / "pepperpy").exists() else [
            sys.executable, "-m", "pepperpy"]

        def home(i: int, kind: str) -> dict[str, str]:
            settings = Settings(home=work / f"{kind}-home-{i}", auto_install=False,
                                checkout_plugins=False)
            factory.trust(settings.home)
            add_index(settings, "main", url, root)
            return dict(base_env, PEPPERPY_HOME=str(settings.home), PEPPERPY_AUTO_INSTALL="0")

        envs = {i: home(i, "install") for i in range(ROUNDS)}
        uv_env = dict(base_env, UV_CACHE_DIR=str(work / "uv-cache"))

        def ours_install(i: int) -> float:
            return run([*pepperpy, "plugin", "install", "big", "--no-deps"], envs[i],
                       "pepperpy")

        def pip_install(i: int) -> float:
            return run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-cache-dir", "--disable-pip-version-check", "--index-url", simple,
                        "--target", str(work / f"pip-{i}"), "bigwheel"], base_env,
                       "pip install (no cache)")

        def uv_install(i: int) -> float:
            return run([UV, "pip", "install", "--quiet", "--no-deps", "--no-cache",
                        "--no-config", "--index-url", simple, "--target", str(work / f"uv-{i}"),
                        "bigwheel"], uv_env, "uv pip install (no cache)")

        compare("install one 50 MB package from a loopback index" if not SMOKE else
                "install one 2 MB package from a loopback index",
                {"pepperpy": ours_install, "pip install (no cache)": pip_install,
                 "uv pip install (no cache)": uv_install},
                {"pip install (no cache)": 1.0, "uv pip install (no cache)": 1.5})
        print(f"  path: {which_path(['plugin', 'install', 'big', '--no-deps'], home(-1, 'probe'))}")

        installed = envs[0]
        venv = work / "venv"
        run([UV, "venv", "--quiet", "--no-config", str(venv), "--python", sys.executable],
            uv_env)
        upgrade = [UV, "pip", "install", "--quiet", "--no-config", "--upgrade", "--index-url",
                   simple, "--python", str(venv / "bin" / "python"), "bigwheel"]
        run(upgrade, uv_env)

        def ours_update(i: int) -> float:
            return run([*pepperpy, "plugin", "update", "--no-deps"], installed, "pepperpy")

        def uv_upgrade(i: int) -> float:
            return run(upgrade, uv_env, "uv pip install --upgrade (no-op)")

        ours_update(0)
        compare("no-change update",
                {"pepperpy": ours_update, "uv pip install --upgrade (no-op)": uv_upgrade},
                {"uv pip install --upgrade (no-op)": 1.5})
        print(f"  path: {which_path(['plugin', 'update', '--no-deps'], installed)}")

        passes = hash_passes(work, url, root, factory, bundle.stat().st_size)
        print(f"SHA-256 passes over the bundle during one install by name: {passes:.2f} "
              "(target 1)")


if __name__ == "__main__":
    main()
