"""The ``pepperpy`` command line.

Commands are thin: each group module parses its arguments and calls the library.
Errors are handled here, in one place: a ``PepperpyError`` becomes one line on stderr
and exit code 1; usage errors exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from pepperpy._version import __version__
    from pepperpy.cli import author, bundle, chat, demo, index, keygen, manage, repo, trust

    parser = argparse.ArgumentParser(
        prog="pepperpy",
        description="PepperPy: LLM apps with signed provider plugins.",
    )
    parser.add_argument("--version", action="version", version=f"pepperpy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    groups = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups.required = True
    keygen.register(groups)
    plugin = groups.add_parser("plugin", help="build, verify, install and list plugin bundles")
    plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND")
    plugin_commands.required = True
    bundle.add_plugin_commands(plugin_commands)
    manage.add_plugin_commands(plugin_commands)
    author.add_plugin_commands(plugin_commands)
    index.add_plugin_commands(plugin_commands)
    trust.register(groups)
    repo.register(groups)
    index.register(groups)
    chat.register(groups)
    demo.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 refused or failed, 2 usage)."""
    from pepperpy.core import PepperpyError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PepperpyError as exc:
        if args.debug:
            raise
        print(f"pepperpy: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave: missing, a folder, not writable...
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"pepperpy: error: {_one_line(str(exc.strerror or exc) + where)}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pepperpy: interrupted", file=sys.stderr)
        return 130


def _one_line(message: str) -> str:
    """One line, with anything a terminal would interpret escaped (names in errors come
    from bundles and file names)."""
    from pepperpy.cli.output import printable

    return printable(" ".join(message.split()))
