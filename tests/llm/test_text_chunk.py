"""``text_chunk`` makes the same chunk as ``GenerationChunk(...)``, only cheaper."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import importlib.util
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

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


@contextlib.contextmanager
def _plugin_copy() -> Iterator[ModuleType]:
    """The anthropic plugin's folder imported as a fresh package (what an older runtime,
    set up by the caller first, would import), forgotten afterwards."""
    folder = Path(__file__).resolve().parents[2] / "plugin_src" / "llm_anthropic_provider"
    spec = importlib.util.spec_from_file_location(
        "_older_runtime_anthropic", folder / "__init__.py",
        submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["_older_runtime_anthropic"] = package
    try:
        spec.loader.exec_module(package)
        yield package
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "_older_runtime_anthropic"]:
            del sys.modules[name]


def test_the_anthropic_plugin_loads_on_a_runtime_from_before_text_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle built now may be installed beside an older runtime: its streamed text
    chunks are then made plainly, and are the same chunks."""
    import pepperpy.llm

    monkeypatch.delattr(pepperpy.llm, "text_chunk")
    with _plugin_copy():
        provider = importlib.import_module("_older_runtime_anthropic.provider")
        assert provider.text_chunk is not text_chunk
        assert provider.text_chunk("Hi", "anthropic") == GenerationChunk(
            "Hi", provider="anthropic")


def test_the_anthropic_plugin_on_a_runtime_from_before_pepperpy_sse_says_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """1.1 reads answers with ``pepperpy.sse``: on a runtime without it the import fails
    with what to do (the manager reports it as the plugin's load error), not a bare
    "cannot import name"."""
    monkeypatch.setitem(sys.modules, "pepperpy.sse", None)  # what `import` finds: none
    with _plugin_copy(), pytest.raises(ImportError, match=(
            r"pepperpy\.sse, which this PepperPy runtime does not have: upgrade PepperPy, "
            r"or install llm_anthropic_provider==1\.0\.10")):
        importlib.import_module("_older_runtime_anthropic.provider")
