"""The CLI's name for :mod:`pepperpy.printable` (text from data PepperPy does not control,
made safe for a terminal)."""

from pepperpy.printable import printable, terminal_text

__all__ = ["printable", "terminal_text"]
