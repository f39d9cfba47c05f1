"""Run in a child process by ``test_damaged.py``: damage one state file in fresh copies
of a prepared home, run each command in-process, print one JSON line of outcomes.

argv: BASE_HOME WORK STATE_FILE(relative to home) PUBFILE BUNDLE
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path


def damage(path: Path, how: str) -> None:
    good = path.read_bytes() if path.is_file() and not path.is_symlink() else b'{"a": 1}'
    if path.is_symlink() or path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif how == "garbled":
        middle = len(good) // 2
        path.write_bytes(good[:middle] + b"\xff\x00}{garbage" + good[middle + 12:])
    elif how == "folder":
        path.mkdir()
    elif how == "dangling-link":
        path.symlink_to(path.parent / "nowhere.json")
    elif how == "dev-zero":
        path.symlink_to("/dev/zero")
    elif how == "200mb":
        with open(path, "wb") as handle:
            handle.write(b" " * (1 << 20))
            handle.truncate(200 << 20)
    elif how == "nested":
        path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    else:
        raise ValueError(how)


def run(argv: list[str]) -> tuple[int, str]:
    from pepperpy.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue()


def load() -> tuple[int, str]:
    from pepperpy.core import PepperpyError
    from pepperpy.plugins.manager import PluginManager

    try:
        PluginManager().resolve("llm", "echo")
    except PepperpyError as exc:
        return 1, f"pepperpy: error: {exc}\n"
    return 0, ""


def main() -> None:
    base, work, relative, pub, bundle = sys.argv[1:6]
    commands = {
        "list": lambda: run(["plugin", "list"]),
        "load": load,
        "install": lambda: run(["plugin", "install", "--no-deps", bundle]),
        "trust-add": lambda: run(["trust", "add", pub]),
        "doctor": lambda: run(["plugin", "doctor"]),
        "index-list": lambda: run(["index", "list"]),
        "search": lambda: run(["plugin", "search", "--refresh"]),
    }
    results = {}
    for how in ("empty", "truncated", "garbled", "folder", "dangling-link", "dev-zero",
                "200mb", "nested"):
        home = Path(work) / how
        shutil.copytree(base, home, symlinks=True)
        os.environ["PEPPERPY_HOME"] = str(home)
        target = home / relative
        damage(target, how)
        before = _identity(target)
        for name, command in commands.items():
            started = time.monotonic()
            code, err = command()
            results[f"{how}/{name}"] = {"code": code, "err": err,
                                        "seconds": time.monotonic() - started}
        results[f"{how}/unchanged"] = _identity(target) == before
    results["max_rss_mb"] = _peak_rss_mb()
    print(json.dumps(results))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: reset by exec, unlike
    ``ru_maxrss``, which a child started by a large parent inherits)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _identity(path: Path) -> object:
    if path.is_symlink():
        return ["link", os.readlink(path)]
    if path.is_dir():
        return ["folder"]
    st = path.stat()
    return ["file", st.st_size, st.st_mtime_ns]


if __name__ == "__main__":
    main()
