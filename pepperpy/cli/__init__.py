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


# Each command group's one-line help, shown by `pepperpy --help` without importing the
# group, and the modules that register its subcommands. Only the group a command line
# names is imported, so `pepperpy --help` costs little more than the interpreter.
_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "keygen": ("create a publisher signing key (NAME.key, mode 0600) and NAME.pub", ("keygen",)),
    "plugin": ("build, verify, install and list plugin bundles",
               ("bundle", "manage", "author", "index")),
    "trust": ("manage trusted publisher keys", ("trust",)),
    "repo": ("publish bundles as a signed plugin index (TUF)", ("repo",)),
    "index": ("configure signed plugin indexes (TUF)", ("index",)),
    "chat": ("send one prompt to an LLM and stream the answer", ("chat",)),
    "models": ("list the installed LLM providers and their default models", ("models",)),
    "demo": ("answer questions over a small corpus, offline", ("demo",)),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every group, or with ``argv`` only the group it names in full."""
    from pepperpy._version import __version__

    parser = argparse.ArgumentParser(
        prog="pepperpy",
        description="PepperPy: LLM apps with signed provider plugins.",
    )
    parser.add_argument("--version", action="version", version=f"pepperpy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    groups = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups.required = True
    wanted = None if argv is None else _command(argv)
    for name, (help_text, modules) in _GROUPS.items():
        if argv is None or name == wanted:
            _register(groups, name, help_text, modules)
        else:
            groups.add_parser(name, help=help_text)  # listed in --help, not imported
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The group a command line names (the top-level options take no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _register(groups: argparse._SubParsersAction, name: str, help_text: str,
              modules: tuple[str, ...]) -> None:
    import importlib

    loaded = [importlib.import_module(f"pepperpy.cli.{m}") for m in modules]
    if name != "plugin":
        loaded[0].register(groups)
        return
    plugin = groups.add_parser("plugin", help=help_text)
    plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND")
    plugin_commands.required = True
    for module in loaded:
        module.add_plugin_commands(plugin_commands)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 refused or failed, 2 usage)."""
    from pepperpy.core import PepperpyError

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
