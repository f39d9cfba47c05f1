"""Structure-aware chunking: boundaries, sizes, overlap and ids that follow content."""

from __future__ import annotations

import itertools

import pytest

from pepperpy.chunking import chunk_sections, split_units
from pepperpy.core import ValidationError
from pepperpy.documents import Section

PARAGRAPHS = [
    "Alpha paragraph talks about apples. It has two sentences.",
    "Beta paragraph talks about bees and their honey, at some length to fill space.",
    "Gamma paragraph is about grain. Grain grows in fields. Fields need rain.",
]


def test_cuts_prefer_paragraphs_then_sentences_then_words() -> None:
    text = "\n\n".join(PARAGRAPHS)
    units = split_units(text, 90, len)
    assert "".join(units) == text  # nothing lost, separators kept
    assert [u.strip() for u in units] == PARAGRAPHS
    sentences = split_units(PARAGRAPHS[2], 40, len)
    assert [s.strip() for s in sentences] == [
        "Gamma paragraph is about grain.", "Grain grows in fields.", "Fields need rain."]
    assert split_units("x" * 25, 10, len) == ["x" * 10, "x" * 10, "x" * 5]


def test_chunks_fit_the_size_share_the_overlap_and_never_span_sections() -> None:
    body = " ".join(f"Sentence number {i} is here." for i in range(60))
    sections = [Section(body, page=1), Section("Short page two.", page=2)]
    chunks = chunk_sections(sections, identity="f", size=120, overlap=40)
    assert all(len(c.text) <= 120 for c in chunks)
    assert chunks[-1].text == "Short page two." and chunks[-1].page == 2
    assert all(c.page == 1 for c in chunks[:-1])
    for first, second in itertools.pairwise(chunks[:-1]):
        assert first.text.split(". ")[-1] in second.text  # the tail is repeated


def test_ids_follow_content_and_identity_not_position() -> None:
    sections = [Section(p, headings=("Doc", f"Part {i}")) for i, p in enumerate(PARAGRAPHS)]
    before = chunk_sections(sections, identity="/a/file.md", size=200, overlap=20)
    edited = [sections[0], Section("Beta changed.", headings=("Doc", "Part 1")), sections[2]]
    after = chunk_sections(edited, identity="/a/file.md", size=200, overlap=20)
    assert before[0].id == after[0].id and before[2].id == after[2].id
    assert before[1].id != after[1].id
    assert chunk_sections(sections, identity="/a/file.md", size=200, overlap=20) == before
    other = chunk_sections(sections, identity="/b/file.md", size=200, overlap=20)
    assert not {c.id for c in other} & {c.id for c in before}
    twice = chunk_sections([Section("Same."), Section("Same.")], identity="f", size=50,
                           overlap=5)
    assert len({c.id for c in twice}) == 2  # a repeated text is two chunks


def test_measure_can_be_tokens() -> None:
    def count(text: str) -> int:  # words: any measure the embeddings provider offers
        return len(text.split())

    body = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_sections([Section(body)], identity="f", size=30, overlap=5, measure=count)
    assert all(count(c.text) <= 30 for c in chunks) and len(chunks) >= 4


@pytest.mark.parametrize("size, overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValidationError, match="chunk size"):
        chunk_sections([Section("x")], identity="f", size=size, overlap=overlap)
