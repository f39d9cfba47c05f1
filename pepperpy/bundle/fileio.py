"""The one atomic writer, under its old name.

:func:`atomic_write` lives in :mod:`pepperpy.fsio`, the one door for writes (no link
followed, nothing created outside its folder, errors naming the target). Reading a
bundle without ever blocking is :func:`pepperpy.trust.gate.open_regular`.
"""

from __future__ import annotations

from pepperpy.fsio import atomic_write

__all__ = ["atomic_write"]
