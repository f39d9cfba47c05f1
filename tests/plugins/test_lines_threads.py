"""Verified traceback lines handed to ``linecache`` from several threads at once
(``pepperpy/_lines.py``): while one thread imports ``linecache`` (a warning, a logged
error), others load plugin modules and remember their lines. Every line must end in
``linecache.cache`` (else the ``traceback`` module reads whatever file now sits at the
bundle's path) and the finder must leave ``sys.meta_path``.

Run in a fresh process, where ``linecache`` is not loaded yet; each round removes it
from ``sys.modules`` again, so the hand-over is raced a few hundred times, with the
interpreter switching threads as often as it can."""

from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent("""
    import sys, threading
    from pepperpy import _lines
    assert "linecache" not in sys.modules, "this check needs linecache not loaded yet"
    sys.setswitchinterval(1e-6)
    lost = left = 0
    for r in range(300):
        sys.modules.pop("linecache", None)
        start = threading.Barrier(3)
        names = [[], []]

        def remember(t):
            start.wait()
            for i in range(30):
                name = f"/bundle/{r}/{t}/{i}.py"
                _lines.remember(name, "x = 1\\n")
                names[t].append(name)

        def load_linecache():
            start.wait()
            import linecache  # noqa: F401

        threads = [threading.Thread(target=remember, args=(0,)),
                   threading.Thread(target=remember, args=(1,)),
                   threading.Thread(target=load_linecache)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cache = sys.modules["linecache"].cache
        lost += any(n not in cache for t in names for n in t)
        left += any(f is _lines._HOOK for f in sys.meta_path)
    print("rounds with lines lost:", lost, "with the finder left:", left)
""")


def test_lines_remembered_while_another_thread_imports_linecache_all_reach_it() -> None:
    out = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "rounds with lines lost: 0 with the finder left: 0" in out.stdout, out.stdout
