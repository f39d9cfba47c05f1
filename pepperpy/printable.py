"""Text PepperPy prints from data it does not control, made safe for a terminal.

Invariant: every string that comes from a bundle, a file name, the trust store, uv or an
error message passes through :func:`printable` before it is printed, in every command,
so a name holding terminal escapes cannot rewrite what the screen shows.
"""

from __future__ import annotations

import json

__all__ = ["printable", "terminal_text"]


def printable(value: object) -> str:
    """``value`` as text with every non-printable character escaped (``\\x1b``)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text.isprintable():
        return text  # nothing to escape (the common case, checked in C)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


_KEPT = frozenset("\n\t")


def terminal_text(text: str) -> str:
    """Untrusted multi-line text (a model's answer) for a terminal: line breaks and tabs
    stay, every other control, format (bidi overrides, zero-width) or unassigned
    character is escaped as :func:`printable` does."""
    return "".join(c if c in _KEPT or c.isprintable() else c.encode("unicode_escape").decode()
                   for c in text)
