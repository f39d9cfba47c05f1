"""Bounded state reads (``pepperpy.fsio.read_state`` and ``load_json``): refused by name
before a parser or an unbounded read sees the bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pepperpy.core import StateError
from pepperpy.fsio import load_json, read_state

FIX = "restore it"


def test_missing_is_none_but_empty_is_damage(tmp_path: Path) -> None:
    assert load_json(tmp_path / "absent.json", what="state", fix=FIX) is None
    (tmp_path / "empty.json").write_bytes(b"  \n")
    with pytest.raises(StateError, match="is empty") as caught:
        load_json(tmp_path / "empty.json", what="state", fix=FIX)
    assert caught.value.path == str(tmp_path / "empty.json")


def test_nesting_is_checked_before_parsing(tmp_path: Path) -> None:
    """40 levels is valid JSON any parser accepts; the state files never nest that deep,
    so it is refused by the linear pre-check, with the limit in the message."""
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 40 + b"]" * 40)
    with pytest.raises(StateError, match="nests deeper than 32 levels"):
        load_json(path, what="state", fix=FIX)
    path.write_bytes(b'{"a": "' + b"[" * 100 + b'\\"", "b": [[1]]}')  # brackets in strings
    assert load_json(path, what="state", fix=FIX) == {"a": "[" * 100 + '"', "b": [[1]]}


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(200 << 20)
    with pytest.raises(StateError, match=f"is {200 << 20} bytes, more than the 1024"):
        read_state(path, what="state", limit=1024, fix=FIX)


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.symlink_to("/dev/zero"), "is a character device"),
    (lambda p: p.symlink_to(p.parent / "gone"), "is a link to a missing file"),
    (lambda p: os.mkfifo(p), "is a FIFO"),
], ids=["folder", "dev-zero", "dangling-link", "fifo"])
def test_not_a_file_is_refused_by_name(tmp_path: Path, make, says: str) -> None:
    path = tmp_path / "state.json"
    make(path)
    with pytest.raises(StateError, match=says) as caught:
        read_state(path, what="state", limit=1024, fix=FIX)
    assert str(path) in str(caught.value) and FIX in str(caught.value)


@pytest.mark.parametrize("text, limit, deep", [
    ("[" * 32 + "]" * 32, 32, False),  # exactly at the limit
    ("[" * 33 + "]" * 33, 32, True),
    ("{" * 20 + "[" * 13 + "]" * 13 + "}" * 20, 32, True),
    ('["' + "[" * 200 + '", ' + "[" * 31 + "]" * 32, 32, False),  # brackets in a string
    ('["\\\\", ' + "[" * 40 + "]" * 41, 32, True),  # an escaped backslash ends no string
    ("]" * 100 + "[" * 132, 32, False),  # closing first: the sum starts at -100 (not JSON:
    ("]" * 100 + "[" * 133, 32, True),  # the parser refuses it)
    ('{"é": ' + "[" * 33 + "]" * 33 + "}", 33, True),  # non-ASCII before the brackets
])
def test_nesting_precheck_counts_brackets_outside_strings(text: str, limit: int,
                                                          deep: bool) -> None:
    from pepperpy.fsio import _too_deep

    assert _too_deep(text, limit) is deep
