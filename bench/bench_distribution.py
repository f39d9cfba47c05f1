"""Benchmark plugin distribution from a loopback TUF index (a script, not a test).

1. ``plugin install NAME`` of a 50 MB bundle (warm metadata: the index was added
   before) vs a plain HTTP GET of the same file plus one sha256, in the same run.
   Target ratio <= 1.5.
2. An index of 1,000 plugins: ``search`` with warm metadata (target < 100 ms), and a
   refresh when nothing changed, which must download only ``timestamp.json``.

Run: .venv/bin/python bench/bench_distribution.py [--smoke]
(--smoke: a 5 MB bundle and 50 plugins, for CI.)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.server
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pepperpy.bundle.keys import generate_key
from pepperpy.cli import main as cli
from pepperpy.distribution.fetch import Session, add_index
from pepperpy.settings import Settings
from pepperpy_testing.bundles import BundleFactory


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path) -> str:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def best_of(n: int, fn: Callable[[], object], setup: Callable[[], object] | None = None
            ) -> float:
    times = []
    for _ in range(n):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def publish(work: Path, factory: BundleFactory, bundles: list[Path]) -> tuple[Path, Path]:
    key = generate_key(publisher="index", out_dir=work / "keys").private_path
    repo = work / "repo"
    os.environ["PEPPERPY_HOME"] = str(work / "publisher-home")
    factory.trust(work / "publisher-home")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli(["repo", "init", str(repo), "--key", str(key)]) == 0
        assert cli(["repo", "add", str(repo), *map(str, bundles), "--key", str(key)]) == 0
    return repo, repo / "metadata" / "1.root.json"


def fresh_home(work: Path, factory: BundleFactory, url: str, root: Path, n: int) -> Settings:
    settings = Settings(home=work / f"home-{n}", auto_install=False, checkout_plugins=False)
    factory.trust(settings.home)
    add_index(settings, "main", url, root)
    return settings


def install_bench(work: Path, size: int) -> None:
    import urllib3

    factory = BundleFactory(publisher="acme")
    files = factory.files(manifest={"name": "big", "provider_name": "big",
                                    "entry_point": "big_pkg:Provider"},
                          extra={"model/weights.bin": os.urandom(size)})
    bundle = work / "big-1.0.0.pepperplugin"
    bundle.write_bytes(factory.build(files))
    repo, root = publish(work, factory, [bundle])
    url = serve(repo)
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    target_url = f"{url}/targets/{digest}.{bundle.name}"
    pool = urllib3.PoolManager()

    def plain() -> None:
        response = pool.request("GET", target_url, preload_content=False)
        h = hashlib.sha256()
        for chunk in response.stream(1 << 20):
            h.update(chunk)
        response.release_conn()
        assert h.hexdigest() == digest

    homes: list[Settings] = []
    counter = iter(range(1000))
    by_hand = work / "by-hand.pepperplugin"

    def plain_then_file_install() -> None:
        """What an operator does without an index: GET, sha256, `plugin install FILE`."""
        from pepperpy.plugins.install import install_bundle

        response = pool.request("GET", target_url, preload_content=False)
        h = hashlib.sha256()
        with open(by_hand, "wb") as out:
            for chunk in response.stream(1 << 20):
                h.update(chunk)
                out.write(chunk)
        response.release_conn()
        assert h.hexdigest() == digest
        install_bundle(by_hand, settings=homes[-1])

    def setup() -> None:
        homes.append(fresh_home(work, factory, url, root, next(counter)))

    def install() -> None:
        outcome = Session(homes[-1]).install("big", deps=False)
        assert outcome.action == "installed", outcome.action

    plain()
    t_plain = best_of(5, plain)
    t_install = best_of(5, install, setup)
    t_by_hand = best_of(5, plain_then_file_install, setup)
    mb = bundle.stat().st_size / 1e6
    print(f"install a {mb:.1f} MB bundle by name from the index: {t_install * 1000:.0f} ms")
    print(f"  vs plain GET + sha256 ({t_plain * 1000:.0f} ms): ratio "
          f"{t_install / t_plain:.2f} (target <= 1.5)")
    print(f"  vs GET + sha256 + `plugin install FILE` ({t_by_hand * 1000:.0f} ms): ratio "
          f"{t_install / t_by_hand:.2f} (what the index adds over installing by hand)")


def index_bench(work: Path, count: int) -> None:
    factory = BundleFactory(publisher="acme")
    bundles = []
    for i in range(count):
        name = f"plugin{i:04d}"
        path = work / f"{name}-1.0.{i % 7}.pepperplugin"
        path.write_bytes(factory.build(factory.files(manifest={
            "name": name, "version": f"1.0.{i % 7}", "provider_name": name,
            "entry_point": f"{name}_pkg:Provider", "description": f"Plugin number {i}"})))
        bundles.append(path)
    repo, root = publish(work, factory, bundles)
    url = serve(repo)
    settings = fresh_home(work, factory, url, root, 0)
    term = f"plugin{count // 2:04d}"

    def search() -> None:
        found = Session(settings).search(term)
        assert [o.name for o in found] == [term], found

    search()
    t_search = best_of(20, search)
    session = Session(settings)
    start = time.perf_counter()
    session.offers()
    t_refresh = time.perf_counter() - start
    asked = [u.rsplit("/", 1)[-1] for u in session.client("main").requests]
    downloaded = [a for a in asked if not a.endswith(".root.json")]
    print(f"index of {count} plugins: search (warm metadata) {t_search * 1000:.1f} ms "
          "(target < 100 ms)")
    print(f"refresh with nothing changed: {t_refresh * 1000:.1f} ms; downloaded "
          f"{downloaded} (probed for a newer root: {[a for a in asked if a not in downloaded]})")
    if downloaded != ["timestamp.json"]:
        sys.exit("a refresh with nothing changed downloaded more than timestamp.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    args = parser.parse_args()
    size, count = (5 * 1000 * 1000, 50) if args.smoke else (50 * 1000 * 1000, 1000)
    os.environ["PEPPERPY_CHECKOUT_PLUGINS"] = "0"
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-dist-") as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        install_bench(Path(tmp) / "a", size)
        index_bench(Path(tmp) / "b", count)


if __name__ == "__main__":
    main()
