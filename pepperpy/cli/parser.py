"""The CLI's argument parser: argparse's, with the help width found without ``shutil``.

argparse builds a help formatter for every ``add_argument`` (to check the metavar) and
every parser, and a formatter without a width imports ``shutil`` (with ``bz2``, ``lzma``
and ``fnmatch``) for ``shutil.get_terminal_size``: about 2 ms of every command's start,
for a width only ``--help`` and usage errors print. :func:`columns` is that function's
column rule (``COLUMNS`` if a positive integer, else the terminal on ``sys.__stdout__``,
else 80), and :class:`Parser` hands it to whatever formatter class a parser is given,
so the help text is the same as argparse's own (``tests/core/test_cli_startup.py``).
Subparsers are made with the parent's class, so the whole tree gets it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["Parser", "columns", "refuse_unknown"]


def columns() -> int:
    """``shutil.get_terminal_size().columns`` (same rule, same fallback of 80)."""
    try:
        wanted = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        wanted = 0
    if wanted > 0:
        return wanted
    try:
        found = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout, closed, not a terminal
        found = 0
    return found or 80


class _Sized:
    """A formatter mixin that fills in the width as argparse would (less 2, as it does)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None, **kwargs: Any) -> None:
        super().__init__(prog, indent_increment, max_help_position,  # type: ignore[call-arg]
                         columns() - 2 if width is None else width, **kwargs)


class _Help(_Sized, argparse.HelpFormatter):
    pass


class _RawHelp(_Sized, argparse.RawDescriptionHelpFormatter):
    pass


_SIZED: dict[type, type] = {argparse.HelpFormatter: _Help,
                            argparse.RawDescriptionHelpFormatter: _RawHelp}


def _sized(formatter_class: Any) -> Any:
    if not isinstance(formatter_class, type) or issubclass(formatter_class, _Sized) \
            or not issubclass(formatter_class, argparse.HelpFormatter):
        return formatter_class  # a factory of the caller's own: left as given
    if formatter_class not in _SIZED:
        _SIZED[formatter_class] = type(formatter_class.__name__, (_Sized, formatter_class), {})
    return _SIZED[formatter_class]


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose formatters get their width from :func:`columns`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["formatter_class"] = _sized(kwargs.get("formatter_class",
                                                      argparse.HelpFormatter))
        super().__init__(*args, **kwargs)

    chain: list[Parser] = []  # the parsers of the last command line, outermost first

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if " " not in self.prog:  # the top-level parser: a new command line
            Parser.chain = []
        Parser.chain.append(self)  # a subcommand's parser runs inside its parent's
        return super().parse_known_args(args, namespace)


def refuse_unknown(extra: list[str]) -> None:
    """Exit 2 for arguments no parser took, as the subcommand that was given them:
    its usage line, the closest option for a mistyped one (of that command or the
    top level), and where to see them all (argparse alone reports them against the
    top-level usage, without a hint)."""
    from pepperpy.suggest import closest  # only on a usage error

    parser = Parser.chain[-1]
    known = sorted({o for p in Parser.chain for o in p._option_string_actions})
    hints = []
    for arg in extra:
        name = arg.split("=", 1)[0]
        close = closest(name, known) if arg.startswith("-") else None
        if close:
            hints.append(f"{name}: did you mean {close}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}; "
                 f"`{parser.prog} --help` lists what it takes")
