"""``text_chunk`` makes the same chunk as ``GenerationChunk(...)``, only cheaper."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from pepperpy.llm import GenerationChunk, text_chunk


def test_text_chunk_is_the_same_chunk() -> None:
    made = text_chunk("Hello", "anthropic")
    plain = GenerationChunk("Hello", provider="anthropic")
    assert type(made) is GenerationChunk
    assert made == plain and repr(made) == repr(plain)
    assert vars(made) == vars(plain)
    assert dataclasses.asdict(made) == dataclasses.asdict(plain)
    assert dataclasses.replace(made, content="x") == GenerationChunk("x", provider="anthropic")
    assert pickle.loads(pickle.dumps(made)) == plain
    assert copy.deepcopy(made) == plain


def test_text_chunk_stays_frozen_and_owns_its_metadata() -> None:
    first, second = text_chunk("a", "openai"), text_chunk("b", "openai")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.content = "changed"  # type: ignore[misc]
    first.metadata["k"] = 1
    assert second.metadata == {}
    assert (first.finish_reason, first.tool_calls, first.usage, first.kind) == (
        None, (), None, "text")
