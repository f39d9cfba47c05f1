"""Word ``.docx``: paragraphs and tables in document order, split at headings.

Invariants:
- the ZIP's central directory is checked before python-docx sees the bytes: entry
  count, the sum of declared sizes and each entry's ratio are bounded, so a ZIP bomb
  is refused before one byte is inflated; ``zipfile`` never inflates an entry past its
  declared size, so the declared sizes bound the work;
- headings are paragraphs styled "Title" or "Heading N"; each section carries the
  heading path above it;
- a table becomes one line per row, cells joined with " | ".
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from pepperpy.core import ValidationError, provider_imports
from pepperpy.documents import DocumentLoader, Section

__all__ = ["DocxLoader", "check_zip"]

_LEVEL = re.compile(r"heading (\d)$", re.IGNORECASE)
MAX_ENTRIES = 5000


def check_zip(data: bytes, *, name: str, max_bytes: int, max_ratio: int) -> None:
    """Refuse an archive whose central directory declares too much (nothing inflated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValidationError(f"{name} is not a readable .docx (bad ZIP: {exc})") from None
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(f"{name} holds {len(entries)} ZIP entries (limit {MAX_ENTRIES})")
    total = sum(e.file_size for e in entries)
    if total > max_bytes:
        raise ValidationError(
            f"{name} would unpack to {total} bytes (limit {max_bytes}): refused as a "
            "possible ZIP bomb; raise max_unpacked_bytes if the file is genuine"
        )
    for entry in entries:
        if entry.file_size > max_ratio * max(entry.compress_size, 1) and entry.file_size > 1 << 20:
            raise ValidationError(
                f"{name}: entry {entry.filename[:60]!r} inflates {entry.file_size} bytes "
                f"from {entry.compress_size} (ratio above {max_ratio}): refused as a "
                "possible ZIP bomb"
            )


class DocxLoader(DocumentLoader):
    """Word documents (``.docx``)."""

    def read(self, data: bytes, *, name: str) -> list[Section]:
        check_zip(
            data,
            name=name,
            max_bytes=int(self.config.get("max_unpacked_bytes", 100 << 20)),
            max_ratio=int(self.config.get("max_ratio", 200)),
        )
        with provider_imports():
            import docx

        try:
            document = docx.Document(io.BytesIO(data))
            return _sections(document)
        except ValidationError:
            raise
        except Exception as exc:  # python-docx and lxml raise many kinds on a bad file
            raise ValidationError(
                f"{name} is not a readable .docx ({type(exc).__name__}: {str(exc)[:120]})"
            ) from exc


def _sections(document: Any) -> list[Section]:
    from docx.table import Table

    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            sections.append(Section(text, headings=tuple(t for _, t in path)))
        body.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            body.extend(_rows(block))
            continue
        text = block.text.strip()
        level = _heading_level(block)
        if level is None:
            if text:
                body.append(text)
            continue
        flush()
        while path and path[-1][0] >= level:
            path.pop()
        if text:
            path.append((level, text))
    flush()
    return sections


def _heading_level(paragraph: Any) -> int | None:
    style = getattr(paragraph.style, "name", "") or ""
    if style.lower() == "title":
        return 0
    match = _LEVEL.match(style)
    return int(match.group(1)) if match else None


def _rows(table: Any) -> list[str]:
    lines = []
    for row in table.rows:
        cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells repeat
        line = " | ".join(c for c in cells if c)
        if line:
            lines.append(line)
    return lines
