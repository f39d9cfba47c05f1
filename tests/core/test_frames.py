"""``with_room``: a call through a frame with a reserved value stack behaves exactly like
the call itself (result, exception, arguments, deep recursion, re-entry)."""

from __future__ import annotations

import sys
import traceback

import pytest

from pepperpy._frames import _ROOM_WORDS, _roomy, with_room


def _depth(n: int) -> int:
    return 0 if n == 0 else 1 + _depth(n - 1)


def test_result_and_arguments_pass_through():
    assert with_room(divmod, 17, 5) == (3, 2)
    assert with_room(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    assert with_room(_depth, 500) == 500  # deep calls run after the reserved frame


def test_an_exception_passes_through_with_its_traceback():
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom") as info:
        with_room(fail)
    names = [frame.name for frame in traceback.extract_tb(info.tb)]
    assert names[-1] == "fail"


def test_nested_calls_and_the_recursion_limit_are_unchanged():
    assert with_room(with_room, with_room, _depth, 10) == 10
    with pytest.raises(RecursionError):
        with_room(_depth, sys.getrecursionlimit() + 10)


def test_the_frame_reserves_room_for_a_fresh_chunk():
    # just over 256 KiB of slots: the interpreter maps a fresh 512 KiB chunk for it
    assert _roomy.__code__.co_stacksize >= _ROOM_WORDS > (256 << 10) // 8
