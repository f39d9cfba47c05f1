"""Import the plugin load path without the cyclic collector passing over it meanwhile.

Why: importing the plugin manager and the trust kernel creates about 3,500 objects that
live as long as the process (modules, classes, functions); none of them is garbage. On
the way the collector makes about seven young passes over them and often a middle one
(about 1 ms of a 10 ms plugin load). ``paused`` stops automatic collection while those
modules import, and puts back the state it found on every path, a failed import
included; the first allocation afterwards collects what accumulated, in one young pass.
Nested and concurrent uses share one pause: the first to enter records whether the
collector was on, the last to leave restores that (so a ``gc.disable()`` another thread
makes during that import is undone when it ends). ``gc.collect()`` still works inside.
A leaf: imports nothing from PepperPy.
"""

from __future__ import annotations

import gc
from _thread import allocate_lock
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_LOCK = allocate_lock()
_state = {"depth": 0, "enabled": False}


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside; the collector's previous state restored after."""
    with _LOCK:
        if _state["depth"] == 0:
            _state["enabled"] = gc.isenabled()
            gc.disable()
        _state["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["enabled"]:
                gc.enable()
