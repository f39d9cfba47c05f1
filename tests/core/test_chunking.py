from __future__ import annotations

import itertools

import pytest

from pepperpy import Document, ValidationError
from pepperpy.rag import chunk_text, stable_id


def test_chunks_overlap_and_cover_the_text() -> None:
    text = " ".join(f"word{i}." for i in range(400))
    chunks = chunk_text(text, size=200, overlap=40)
    assert all(len(c) <= 200 for c in chunks)
    assert chunks[0].startswith("word0.") and chunks[-1].endswith("word399.")
    for left, right in itertools.pairwise(chunks):
        assert left[-20:].split()[-1] in right  # consecutive chunks share text


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("hello world") == ["hello world"]


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_bad_chunk_settings(size: int, overlap: int) -> None:
    with pytest.raises(ValidationError):
        chunk_text("x", size=size, overlap=overlap)


def test_ids_are_stable_and_source_specific() -> None:
    assert stable_id("a", "s1", 0) == stable_id("a", "s1", 0)
    assert stable_id("a", "s1", 0) != stable_id("a", "s2", 0)
    assert Document("same text").id == Document("same text").id


def test_document_refuses_bad_metadata_and_empty_text() -> None:
    with pytest.raises(ValidationError, match="metadata value"):
        Document("x", metadata={"k": [1]})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="non-empty text"):
        Document("  ")
