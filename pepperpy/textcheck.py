"""Refuse text that cannot leave the process: lone surrogates.

Python decodes a non-UTF-8 file or file name with ``errors="surrogateescape"`` into a
string holding lone surrogates (U+D800-U+DFFF). Such a string cannot be encoded as
UTF-8, so it fails deep inside an SDK, a JSON encoder or a database driver as a bare
``UnicodeEncodeError``. PepperPy checks what it is given at the door instead and names
the input.
"""

from __future__ import annotations

from pepperpy.core import ValidationError

__all__ = ["check_text"]


def check_text(text: str, what: str) -> str:
    """``text`` unchanged, or a ``ValidationError`` naming ``what`` and where."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise ValidationError(
            f"{what} holds a lone surrogate ({bad!r} at character {exc.start}), which is "
            "not text: it comes from decoding non-UTF-8 bytes with errors='surrogateescape'. "
            "Decode the source with its real encoding (or errors='replace') first"
        ) from None
    return text
