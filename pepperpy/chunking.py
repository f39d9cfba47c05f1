"""Structure-aware chunking: sections in, chunks with stable ids out.

Invariants:
- a chunk never spans two sections (a heading or a page starts a new chunk), and
  inside a section text is cut at paragraphs, then lines, then sentences, then words,
  and only as a last resort inside a word;
- sizes are measured with ``measure`` (the embeddings model's token count when the
  provider can count, else characters); a chunk measures at most ``size`` unless one
  word alone is longer, and consecutive chunks of a section share up to ``overlap``;
- a chunk's id depends on the file's identity, its heading path, page and text (and
  which repeat of that same text it is), never on its position: editing one part of a
  file changes only the ids of the chunks that changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pepperpy.core import ValidationError
from pepperpy.documents import Section
from pepperpy.rag import stable_id

__all__ = ["Chunk", "chunk_sections", "split_units"]

Measure = Callable[[str], int]

_SEPARATORS = (
    re.compile(r"(?<=\n\n)"),  # paragraphs (zero-width: the text is kept whole)
    re.compile(r"(?<=\n)"),  # lines
    re.compile(r"(?<=[.!?;:]\s)"),  # sentences
    re.compile(r"(?<=\s)"),  # words
)


@dataclass(frozen=True)
class Chunk:
    """A piece of one section, ready to embed."""

    id: str
    text: str
    page: int | None
    headings: tuple[str, ...]


def split_units(text: str, size: int, measure: Measure, level: int = 0) -> list[str]:
    """``text`` cut at the coarsest boundaries that give pieces of at most ``size``.

    The pieces, concatenated, give ``text`` back (separators stay attached).
    """
    if measure(text) <= size:
        return [text]
    if level >= len(_SEPARATORS):
        return _hard_cut(text, size, measure)
    parts = [p for p in _SEPARATORS[level].split(text) if p]
    if len(parts) == 1:
        return split_units(text, size, measure, level + 1)
    out: list[str] = []
    for part in parts:
        out += split_units(part, size, measure, level + 1)
    return out


def _hard_cut(text: str, size: int, measure: Measure) -> list[str]:
    """Cut one over-long word into pieces that fit (characters are an upper bound)."""
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + max(size, 1))
        while end > start + 1 and measure(text[start:end]) > size:
            end = start + max(1, (end - start) // 2)
        pieces.append(text[start:end])
        start = end
    return pieces


def _pack(units: list[str], size: int, overlap: int, measure: Measure) -> list[str]:
    """Greedy packing of units into chunks of at most ``size`` with ``overlap``."""
    sizes = [measure(u) for u in units]
    chunks: list[str] = []
    start = 0
    while start < len(units):
        end, total = start, 0
        while end < len(units) and (end == start or total + sizes[end] <= size):
            total += sizes[end]
            end += 1
        text = "".join(units[start:end]).strip()
        if text:
            chunks.append(text)
        if end >= len(units):
            break
        back, kept = end, 0  # the tail that the next chunk repeats
        while back - 1 > start and kept + sizes[back - 1] <= overlap:
            back -= 1
            kept += sizes[back]
        start = back
    return chunks


def chunk_sections(
    sections: Sequence[Section],
    *,
    identity: str,
    size: int,
    overlap: int,
    measure: Measure = len,
) -> list[Chunk]:
    """Chunks of every section, with ids that derive from ``identity`` and content."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValidationError(
            f"chunk size must be > 0 and 0 <= overlap < size (got size={size}, overlap={overlap})"
        )
    seen: dict[str, int] = {}
    chunks: list[Chunk] = []
    for section in sections:
        units = split_units(section.text.strip(), size, measure)
        for text in _pack(units, size, overlap, measure):
            where = f"{identity}\0{section.page or ''}\0{' > '.join(section.headings)}"
            key = f"{where}\0{text}"
            repeat = seen[key] = seen.get(key, -1) + 1
            chunks.append(
                Chunk(stable_id(text, where, repeat), text, section.page, section.headings)
            )
    return chunks
