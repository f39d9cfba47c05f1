"""Text the CLI prints from data it does not control, made safe for a terminal.

Invariant: every string that comes from a bundle, a file name, the trust store or an
error message passes through :func:`printable` before it is printed, in every command,
so a name holding terminal escapes cannot rewrite what the screen shows.
"""

from __future__ import annotations

import json

__all__ = ["printable"]


def printable(value: object) -> str:
    """``value`` as text with every non-printable character escaped (``\\x1b``)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
