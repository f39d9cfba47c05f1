"""Markdown and plain text: UTF-8 only, split at ATX headings.

Invariants:
- bytes that are not UTF-8 are refused by name (a guessed encoding turns a Latin-1
  file into mojibake that then answers questions wrongly);
- a ``#`` line inside a fenced code block is code, not a heading;
- every section carries the heading path above it (``("Guide", "Install")``);
- no dependency beyond the standard library, linear in the input.
"""

from __future__ import annotations

import re

from pepperpy.core import ValidationError
from pepperpy.documents import DocumentLoader, Section

__all__ = ["MarkdownLoader", "split_markdown"]

_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def split_markdown(text: str) -> list[Section]:
    """Sections at ATX headings, each with its heading path; text before any heading
    has an empty path."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    fence: str | None = None

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            sections.append(Section(joined, headings=tuple(title for _, title in path)))
        body.clear()

    for line in text.splitlines():
        opened = _FENCE.match(line)
        if opened and (fence is None or opened.group(1) == fence):
            fence = None if fence else opened.group(1)
            body.append(line)
            continue
        heading = None if fence else _HEADING.match(line)
        if heading is None:
            body.append(line)
            continue
        flush()
        level, title = len(heading.group(1)), heading.group(2).strip()
        while path and path[-1][0] >= level:
            path.pop()
        if title:
            path.append((level, title))
    flush()
    return sections


class MarkdownLoader(DocumentLoader):
    """Markdown (``.md``, ``.markdown``) and plain text (``.txt``)."""

    def read(self, data: bytes, *, name: str) -> list[Section]:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{name} is not UTF-8 text (byte {exc.start} is invalid); convert it "
                "with `iconv -f LATIN1 -t UTF-8` or save it as UTF-8"
            ) from None
        if "\x00" in text:
            raise ValidationError(f"{name} holds NUL bytes: it is binary, not text")
        return split_markdown(text)
