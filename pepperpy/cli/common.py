"""What every command group shares: a subcommand whose docstring is its help, the
settings from the environment, and progress lines on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_command", "load_settings", "progress"]


def add_command(subparsers: Any, name: str, handler: Any) -> argparse.ArgumentParser:
    """Register ``handler`` as ``name``: its docstring's first line is the short help,
    the whole docstring (with its example) the ``--help`` text."""
    doc = (handler.__doc__ or "").strip()
    first = doc.splitlines()[0].rstrip(".")
    parser = subparsers.add_parser(
        name, help=first[:1].lower() + first[1:], description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=handler)
    return parser


def load_settings() -> Any:
    """``Settings`` from the environment (imported when a command runs, not for --help)."""
    from pepperpy.settings import Settings

    return Settings.from_env()


def progress(line: str) -> None:
    """One progress line on stderr, shown at once."""
    print(line, file=sys.stderr, flush=True)
