"""Run a call with room on CPython's frame stack, so a deep import does not thrash it.

Why: CPython (3.11+) keeps Python frames in 16 KiB chunks that it maps when a call
needs a new one and unmaps as soon as that call returns. An import as deep and as long
as an SDK's (``openai``: about 900 modules, nested a dozen levels) crosses a chunk
boundary thousands of times, each crossing an ``mmap``, a ``munmap`` and page faults:
about 7,000 of each to load the openai plugin, a tenth of its CPU time.

:func:`with_room` calls through a frame whose declared value-stack size is 256 KiB. The
interpreter cannot fit that frame in the current chunk, so it maps a fresh 512 KiB one,
puts the frame at its start and every deeper frame after it: the whole import runs in
memory that stays mapped until the call returns (one ``mmap``, one ``munmap``). The
reserved slots are never written, so their pages are never touched. The call, its
result and its exception are unchanged. On an interpreter that lays frames out
otherwise this is an ordinary call.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["with_room"]

T = TypeVar("T")
_ROOM_WORDS = 32_800  # just over 256 KiB of 8-byte slots: a 512 KiB chunk, half of it free


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return function(*args, **kwargs)


_roomy: Callable[..., Any] = types.FunctionType(
    _call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + _ROOM_WORDS),
    _call.__globals__, "_call")


def with_room(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, run with room for a deep call tree."""
    result: T = _roomy(function, args, kwargs)
    return result
