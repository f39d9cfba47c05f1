"""Documents interface: a loader turns one file's bytes into text sections.

A ``DocumentLoader`` is a provider of the ``documents`` category (PDF, Word, HTML,
Markdown...). PepperPy reads the file itself (size-bounded, never following a symlink
loop) and hands the loader the bytes, so a loader is a pure parser: bytes in,
``Section`` objects out, no I/O. Which file types a loader reads is declared in its
signed manifest, as the default of its ``file_types`` option; ``pepper.rag.add_files``
picks the installed loader for each file by that list, so an application never names
a loader.

Invariants:
- a loader refuses what it cannot read with a ``ValidationError`` naming the reason
  (encrypted, corrupt, too deep, too big once inflated); it never returns partial
  garbage for a broken file;
- ``read`` is synchronous and CPU-bound: PepperPy runs it on a worker thread.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pepperpy.core import BaseProvider, ValidationError

__all__ = ["DocumentLoader", "Section", "normalise_file_types"]


@dataclass(frozen=True)
class Section:
    """A run of text that belongs together: a page, or the body under one heading.

    ``page`` is 1-based (formats with pages); ``headings`` is the heading path that
    leads to this text (formats with headings), outermost first.
    """

    text: str
    page: int | None = None
    headings: tuple[str, ...] = ()


def normalise_file_types(value: Any, *, label: str) -> tuple[str, ...]:
    """File types as lower-case suffixes with their dot (``".pdf"``)."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValidationError(f"{label}: file_types must be a non-empty list like ['.pdf']")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.startswith(".") or len(item) < 2:
            raise ValidationError(f"{label}: file type {item!r} must look like '.pdf'")
        out.append(item.lower())
    return tuple(dict.fromkeys(out))


class DocumentLoader(BaseProvider, abc.ABC):
    """Interface every documents loader implements."""

    category: ClassVar[str] = "documents"

    @property
    def file_types(self) -> tuple[str, ...]:
        """The suffixes this loader reads: its ``file_types`` option (manifest default)."""
        return normalise_file_types(
            self.config.get("file_types"), label=f"documents provider {self.provider_name!r}"
        )

    @abc.abstractmethod
    def read(self, data: bytes, *, name: str) -> list[Section]:
        """Parse one file's bytes (``name`` is for messages); raise ValidationError."""
