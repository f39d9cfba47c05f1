"""Source lines for tracebacks, put in ``linecache`` without importing it.

The sealed loader (``pepperpy/trust/sealed.py``) hands every module's verified source
to :func:`remember`, so the ``traceback`` module shows those lines and never reads the
file now at the module's path. Importing ``linecache`` (and ``tokenize``, ``token``)
costs about 1 ms and ~300 objects, and many programs never show a traceback. So the
lines go straight into ``linecache.cache`` when ``linecache`` is loaded, and otherwise
wait here: a finder first on ``sys.meta_path`` wraps ``linecache``'s loader once, puts
the waiting lines in its ``cache`` right after it runs, hands the module its own loader
back and leaves ``sys.meta_path``. A leaf: imports nothing from PepperPy.

Threads: the waiting lines, the finder's place and the hand-over change under one lock,
so a line is never left waiting once ``linecache`` has run, nor the finder left behind.
The finder is placed before ``linecache`` is looked for again, and an import of it that
another thread began without the finder is waited for (the module's own import lock),
then the lines go into its cache.
"""

from __future__ import annotations

import sys
from _thread import RLock
from collections.abc import Sequence
from typing import Any

__all__ = ["remember"]

_WAITING: dict[str, tuple[int, None, list[str], str]] = {}
# guards _WAITING, the finder's place on sys.meta_path and _FILLING; re-entrant: a
# finalizer run by the collector inside may import linecache (a warning shown)
_LOCK = RLock()
_FILLING = [False]  # linecache is being run by the finder's loader (it hands over after)


def remember(filename: str, text: str) -> None:
    """Show ``text`` for ``filename`` in tracebacks (mtime None: ``checkcache`` keeps it)."""
    entry = (len(text), None, text.splitlines(True), filename)
    with _LOCK:
        _WAITING[filename] = entry
        under_way = _flush()
    if under_way:  # another thread imports linecache without the finder: wait for it
        try:
            import linecache  # noqa: F401  (its import lock; the import is under way)
        except (ImportError, RuntimeError):  # blocked (None in sys.modules), or failed
            return
        with _LOCK:
            _flush()


def _flush() -> bool:
    """Hand the waiting lines to ``linecache`` if it ran, else make sure the finder will;
    True when another thread is importing it now (caller holds _LOCK)."""
    if not _into_cache():
        if not any(f is _HOOK for f in sys.meta_path):
            sys.meta_path.insert(0, _HOOK)
        if not _into_cache():  # looked for again now the finder is placed
            return not _FILLING[0] and _importing()
    _unhook()  # linecache ran (perhaps without the finder): nothing left to wait for
    return False


def _importing() -> bool:
    """Whether a thread is importing ``linecache`` now: it holds (or waits for) the
    module's import lock, and the finder may have come too late for that import."""
    bootstrap = sys.modules.get("importlib._bootstrap")
    return "linecache" in getattr(bootstrap, "_module_locks", ()) or "linecache" in sys.modules


def _unhook() -> None:
    while any(f is _HOOK for f in sys.meta_path):  # every copy
        sys.meta_path.remove(_HOOK)


def _into_cache() -> bool:
    cache = getattr(sys.modules.get("linecache"), "cache", None)
    if not isinstance(cache, dict):  # not loaded (or not yet as far as its cache)
        return False
    while _WAITING:
        key, lines = _WAITING.popitem()
        cache[key] = lines
    return True


class _Hook:
    """Finds ``linecache`` through the other finders and fills its cache once it ran."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: Any = None) -> Any:
        if fullname != "linecache":
            return None
        for finder in [f for f in sys.meta_path if f is not self]:
            find = getattr(finder, "find_spec", None)
            if find is not None and (spec := find(fullname, path, target)) is not None:
                spec.loader = _Filling(spec.loader)
                return spec
        return None


class _Filling:
    """``linecache``'s own loader, then the waiting lines put in its cache."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        with _LOCK:
            _FILLING[0] = True
        try:
            self.loader.exec_module(module)
        except BaseException:
            _handed_over(ran=False)
            raise
        _handed_over(ran=True)


def _handed_over(*, ran: bool) -> None:
    """The finder leaves ``sys.meta_path`` (every copy); the waiting lines go into the
    cache of a ``linecache`` that ran (after a failed run they wait for the next one)."""
    with _LOCK:
        _FILLING[0] = False
        _unhook()
        if ran:
            _into_cache()


_HOOK = _Hook()
