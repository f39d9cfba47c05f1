"""Source lines for tracebacks, put in ``linecache`` without importing it.

The sealed loader (``pepperpy/trust/sealed.py``) hands every module's verified source
to :func:`remember`, so the ``traceback`` module shows those lines and never reads the
file now at the module's path. Importing ``linecache`` (and ``tokenize``, ``token``)
costs about 1 ms and ~300 objects, and many programs never show a traceback. So the
lines go straight into ``linecache.cache`` when ``linecache`` is loaded, and otherwise
wait here: a finder first on ``sys.meta_path`` wraps ``linecache``'s loader once, puts
the waiting lines in its ``cache`` right after it runs, hands the module its own loader
back and leaves ``sys.meta_path``. A leaf: imports nothing from PepperPy.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["remember"]

_WAITING: dict[str, tuple[int, None, list[str], str]] = {}


def remember(filename: str, text: str) -> None:
    """Show ``text`` for ``filename`` in tracebacks (mtime None: ``checkcache`` keeps it)."""
    _WAITING[filename] = (len(text), None, text.splitlines(True), filename)
    _flush()


def _flush() -> None:
    cache = getattr(sys.modules.get("linecache"), "cache", None)
    if isinstance(cache, dict):  # loaded (or far enough into loading to have its cache)
        while _WAITING:
            key, lines = _WAITING.popitem()
            cache[key] = lines
    elif not any(f is _HOOK for f in sys.meta_path):
        sys.meta_path.insert(0, _HOOK)


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
        try:
            self.loader.exec_module(module)
        finally:
            if _HOOK in sys.meta_path:
                sys.meta_path.remove(_HOOK)
        _flush()


_HOOK = _Hook()
