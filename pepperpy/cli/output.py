"""The CLI's name for :mod:`pepperpy.printable` (text from data PepperPy does not control,
made safe for a terminal)."""

from typing import Any

from pepperpy.printable import printable, terminal_text

__all__ = ["installed_line", "printable", "terminal_text"]


def installed_line(action: str, record: Any, path: object, source: str = "") -> str:
    """The line ``plugin install`` prints for a plugin it installed, in one form whether
    it came from a file or an index (``source``: `` from index NAME`` or a ``(was ...)``)."""
    return (f"{action} {record.name} {record.version}{source} -> {printable(str(path))} "
            f"(key {record.key_id[:16]}, sha256 {record.digest[:16]})")
