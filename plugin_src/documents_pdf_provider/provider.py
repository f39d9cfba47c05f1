"""PDF: one section per page, with its 1-based page number.

Invariants:
- pypdf is imported on first use, under ``provider_imports``;
- a PDF that needs a password is refused by name; one encrypted with an empty user
  password (only "owner" restrictions) opens like any other;
- pypdf's errors (and the ones a broken file makes it raise from deep inside) become
  one ``ValidationError`` naming the file: a corrupt PDF never yields partial pages;
- pages without text (scans) are skipped; the page numbers of the others stay true.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from pepperpy.core import ValidationError, provider_imports
from pepperpy.documents import DocumentLoader, Section

__all__ = ["PdfLoader"]


class PdfLoader(DocumentLoader):
    """PDF files (``.pdf``)."""

    def read(self, data: bytes, *, name: str) -> list[Section]:
        with provider_imports():
            from pypdf import PdfReader

        if not data.lstrip()[:5].startswith(b"%PDF-"):
            raise ValidationError(f"{name} is not a PDF (no %PDF- header); is it damaged?")
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not ours
        try:
            reader = PdfReader(io.BytesIO(data))
            self._unlock(reader, name)
            pages = reader.pages
            if len(pages) > int(self.config.get("max_pages", 5000)):
                raise ValidationError(
                    f"{name} has {len(pages)} pages, above max_pages="
                    f"{self.config.get('max_pages', 5000)}; split it or raise the option"
                )
            return [
                Section(text, page=number)
                for number, text in enumerate((_text(p) for p in pages), 1)
                if text
            ]
        except ValidationError:
            raise
        except Exception as exc:  # pypdf raises many kinds on a damaged file
            raise ValidationError(
                f"{name} is not a readable PDF ({type(exc).__name__}: {str(exc)[:120]})"
            ) from exc

    @staticmethod
    def _unlock(reader: Any, name: str) -> None:
        if not reader.is_encrypted:
            return
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # e.g. AES without the cryptography package
            raise ValidationError(
                f"{name} is an encrypted PDF that cannot be opened here "
                f"({type(exc).__name__}); save a decrypted copy"
            ) from exc
        if not opened:
            raise ValidationError(
                f"{name} is an encrypted PDF that needs a password; save a decrypted copy "
                "(e.g. `qpdf --decrypt --password=... in.pdf out.pdf`)"
            )


def _text(page: Any) -> str:
    return str(page.extract_text() or "").strip()
