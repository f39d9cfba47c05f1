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


def test_the_anthropic_plugin_loads_on_a_runtime_from_before_text_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle built now may be installed beside an older runtime: its streamed text
    chunks are then made plainly, and are the same chunks."""
    import importlib.util
    import sys
    from pathlib import Path

    import pepperpy.llm

    monkeypatch.delattr(pepperpy.llm, "text_chunk")
    folder = Path(__file__).resolve().parents[2] / "plugin_src" / "llm_anthropic_provider"
    spec = importlib.util.spec_from_file_location(
        "_older_runtime_anthropic", folder / "__init__.py",
        submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["_older_runtime_anthropic"] = package
    try:
        spec.loader.exec_module(package)
        provider = importlib.import_module("_older_runtime_anthropic.provider")
        assert provider.text_chunk is not text_chunk
        assert provider.text_chunk("Hi", "anthropic") == GenerationChunk(
            "Hi", provider="anthropic")
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "_older_runtime_anthropic"]:
            del sys.modules[name]
