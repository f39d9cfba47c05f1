"""Turn a verbose pip/CMake build log into a few progress lines (stdin -> stdout).

    pip wheel -v ... 2>&1 | python tools/build_progress.py [--every SECONDS] [--label NAME]

llama-cpp-python builds with scikit-build-core, which runs CMake and then Ninja (or
Make when Ninja is missing). Ninja prints ``[N/M] <command>`` per step (the whole
compiler command under ``-v``), Make prints ``[ NN%] Building ...``; pip may indent
both. This filter prints one line per step milestone (at most every ``--every``
seconds, and at every tenth of the build) with the step counter and the elapsed time,
the configure and packaging milestones, and every error line, so a first build that
takes minutes is never silent. It exits with status 0 whatever it reads: the build's
own exit status is checked by the caller.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator

NINJA = re.compile(r"^\s*\[(\d+)/(\d+)\]\s+(.*)$")
MAKE = re.compile(r"^\s*\[\s*(\d+)%\]\s+(.*)$")
OUTPUT = re.compile(r"\s-o\s+(\S+)")
MILESTONES = (
    re.compile(r"^\s*Collecting "),
    re.compile(r"Installing build dependencies"),
    re.compile(r"^\s*-- Configuring done"),
    re.compile(r"^\s*-- Build files have been written"),
    re.compile(r"^\s*\*\*\* (Building project|Installing project|Making wheel)"),
    re.compile(r"Successfully built|Saved "),
)
ERRORS = re.compile(r"\berror:|CMake Error|^\s*ERROR|^\s*FAILED:|ninja: build stopped")


def _what(rest: str) -> str:
    """A short name for the step: the object file, or make's own words."""
    found = OUTPUT.search(rest)
    if found:
        return found.group(1).rsplit("/", 1)[-1]
    return rest.strip()[:80]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def progress(
    lines: Iterable[str],
    *,
    every: float = 10.0,
    label: str = "build",
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """The progress lines for a build log, as it is read."""
    start = clock()
    last_print = start
    last_tenth = -1
    for line in lines:
        line = line.rstrip("\n")
        step = NINJA.match(line)
        percent: float | None = None
        if step:
            done, total, rest = int(step.group(1)), int(step.group(2)), step.group(3)
            percent = 100.0 * done / total if total else 0.0
            counter = f"step {done}/{total} ({percent:.0f}%)"
        else:
            made = MAKE.match(line)
            if made:
                percent, rest = float(made.group(1)), made.group(2)
                counter = f"{percent:.0f}%"
        now = clock()
        if percent is not None:
            tenth = int(percent // 10)
            if tenth != last_tenth or now - last_print >= every or percent >= 100:
                last_tenth, last_print = tenth, now
                yield (f"  {label}: {counter}, {_clock(now - start)} elapsed"
                       f"  [{_what(rest)}]")
        elif ERRORS.search(line) or any(m.search(line) for m in MILESTONES):
            last_print = now
            yield f"  {label}: {line.strip()[:200]}  ({_clock(now - start)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--label", default="build", help="prefix of each line")
    args = parser.parse_args(argv)
    for out in progress(sys.stdin, every=args.every, label=args.label):
        print(out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
