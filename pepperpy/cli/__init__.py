"""The ``pepperpy`` command line.

Commands are thin: each group module parses its arguments and calls the library.
Errors are handled here, in one place: a ``PepperpyError`` becomes one line on stderr
and exit code 1; usage errors exit 2; ``--debug`` shows the traceback.

The command groups come from entry points (group ``pepperpy.commands``) of whatever
distributions are installed: ``pepperplug`` ships the runtime commands, ``pepperplug-dev``
the authoring and publishing ones, ``pepperplug-testing`` ``plugin test``. A command of a
distribution that is not installed is still listed, and says which one to install.
An entry point named ``GROUP`` registers a group (``register(subparsers)``); one named
``plugin.PART`` adds subcommands to ``plugin`` (``add_plugin_commands(subparsers)``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["ENTRY_POINT_GROUP", "build_parser", "main"]

ENTRY_POINT_GROUP = "pepperpy.commands"
RUNTIME, DEV, TESTING = "pepperplug", "pepperplug-dev", "pepperplug-testing"
CHECKOUT = "a PepperPy source checkout"

# The project's command groups: the one-line help `pepperpy --help` shows without
# importing a group, and the distribution that ships it. Only the group a command line
# names is imported, so `pepperpy --help` costs little more than the interpreter.
_GROUPS: dict[str, tuple[str, str]] = {
    "keygen": ("create a publisher signing key (NAME.key, mode 0600) and NAME.pub", DEV),
    "plugin": ("build, verify, install and list plugin bundles", RUNTIME),
    "trust": ("manage trusted publisher keys", RUNTIME),
    "repo": ("publish bundles as a signed plugin index (TUF)", DEV),
    "index": ("configure signed plugin indexes (TUF)", RUNTIME),
    "chat": ("send one prompt to an LLM and stream the answer", RUNTIME),
    "models": ("list the installed LLM providers and their default models", RUNTIME),
    "rag": ("add files and folders to a knowledge base, or remove them", RUNTIME),
    "demo": ("answer questions over a small corpus, offline", CHECKOUT),
}
# `plugin` subcommands that the other distributions add.
_PLUGIN_ELSEWHERE: dict[str, tuple[str, str]] = {
    "new": ("create a plugin folder that builds and passes its own tests", DEV),
    "lint": ("check a plugin folder before building it", DEV),
    "build": ("build and sign a plugin folder into a .pepperplugin", DEV),
    "readme": ("write the README's options and dependencies from plugin.json", DEV),
    "test": ("run the conformance suite against a plugin folder or bundle", TESTING),
}
# `plugin` subcommands this distribution ships, by the module that adds them: a command
# line naming one (`plugin verify FILE`) imports only that module, with no entry point
# scan (importlib.metadata and every installed distribution's command modules cost more
# than verifying a bundle, or a no-change `plugin update`). The project's own verify,
# install, update and list are never taken from elsewhere.
_OWN_PLUGIN_COMMANDS = {"verify": "pepperpy.cli.bundle", "inspect": "pepperpy.cli.bundle",
                        "install": "pepperpy.cli.manage", "update": "pepperpy.cli.index",
                        "list": "pepperpy.cli.manage", "remove": "pepperpy.cli.manage",
                        "deps": "pepperpy.cli.manage", "doctor": "pepperpy.cli.manage",
                        "search": "pepperpy.cli.index", "outdated": "pepperpy.cli.index"}
# The same for the groups this distribution ships (the entry point scan is about 18 ms of
# imports, more than most of these commands' own work): `pepperpy trust add` is always
# the project's own.
_OWN_GROUPS = {name: f"pepperpy.cli.{name}" for name, (_, dist) in _GROUPS.items()
               if dist == RUNTIME and name != "plugin"}


def installed_commands() -> dict[str, list[EntryPoint]]:
    """The installed entry points by command group, each group's sorted by name."""
    from importlib.metadata import entry_points

    found: dict[str, dict[str, EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name.split(".", 1)[0], {}).setdefault(ep.name, ep)
    return {group: [eps[n] for n in sorted(eps)] for group, eps in found.items()}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every group, or with ``argv`` only the group it names in full."""
    from pepperpy._version import __version__
    from pepperpy.cli.parser import Parser

    parser = Parser(
        prog="pepperpy",
        description="PepperPy: LLM apps with signed provider plugins.",
    )
    parser.add_argument("--version", action="version", version=f"pepperpy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    groups = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups.required = True
    own = _own_plugin_command(argv)
    if own is not None:
        from importlib import import_module

        plugin = groups.add_parser("plugin", help=_GROUPS["plugin"][0])
        plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND")
        plugin_commands.required = True
        import_module(own).add_plugin_commands(plugin_commands)
        return parser
    wanted = None if argv is None else _command(argv)
    if wanted in _OWN_GROUPS:
        from importlib import import_module

        import_module(_OWN_GROUPS[wanted]).register(groups)
        return parser
    found = None
    if argv is not None and wanted is None:  # the top-level help or usage: names only
        from pepperpy.cli.groups_found import command_origins

        found = command_origins(ENTRY_POINT_GROUP)
    installed = {} if found is not None else installed_commands()
    if found is None:
        found = {name: _origin(eps) for name, eps in installed.items()}
    for name in [*_GROUPS, *sorted(set(found) - set(_GROUPS))]:
        help_text, dist = _GROUPS.get(name, ("", ""))
        if name not in found:
            _missing(groups, name, help_text, dist)
        elif argv is None or name == wanted:
            _register(groups, name, help_text, installed[name])
        else:
            groups.add_parser(name, help=help_text or found[name])
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The group a command line names (the top-level options take no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _own_plugin_command(argv: Sequence[str] | None) -> str | None:
    """The module of the `plugin` subcommand ``argv`` names, if this distribution ships it
    (the word right after `plugin`, so `plugin --help` still lists every subcommand)."""
    words = list(argv or ())
    at = words.index("plugin") + 1 if "plugin" in words else 0
    if not at or _command(words) != "plugin" or at >= len(words):
        return None
    return _OWN_PLUGIN_COMMANDS.get(words[at])


def _origin(eps: list[EntryPoint]) -> str:
    dist = eps[0].dist
    return f"commands from {dist.name if dist else eps[0].value}"


def _register(groups: argparse._SubParsersAction, name: str, help_text: str,
              eps: list[EntryPoint]) -> None:
    if name != "plugin":
        for ep in eps:
            ep.load()(groups)
        return
    plugin = groups.add_parser("plugin", help=help_text)
    plugin_commands = plugin.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND")
    plugin_commands.required = True
    for ep in eps:
        ep.load()(plugin_commands)
    for sub, (sub_help, dist) in _PLUGIN_ELSEWHERE.items():
        if sub not in plugin_commands.choices:
            _missing(plugin_commands, sub, sub_help, dist, prefix="plugin ")


def _missing(groups: argparse._SubParsersAction, name: str, help_text: str, dist: str,
             *, prefix: str = "") -> None:
    """A command whose distribution is not installed: listed, and it says what to do."""
    where = "from a source checkout" if dist == CHECKOUT else f"needs {dist}"
    parser = groups.add_parser(name, help=f"{help_text} ({where})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=lambda args: _not_installed(prefix + name, dist))


def _not_installed(command: str, dist: str) -> NoReturn:
    from pepperpy._version import __version__
    from pepperpy.core import ConfigurationError

    if dist == CHECKOUT:
        raise ConfigurationError(
            f"`pepperpy {command}` is not an installed command: the demo runs from a "
            "PepperPy source checkout (it builds the repository's plugin_src/); run "
            "`make demo` in a clone of the repository")
    raise ConfigurationError(
        f"`pepperpy {command}` comes with the {dist} distribution, which is not installed; "
        f"install it with `pip install {dist}=={__version__}`")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 refused or failed, 2 usage)."""
    from pepperpy.core import PepperpyError

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        from pepperpy.cli.parser import refuse_unknown

        refuse_unknown(extra)
    try:
        return int(args.func(args) or 0)
    except PepperpyError as exc:
        if args.debug:
            raise
        print(f"pepperpy: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave: missing, a folder, not writable...
        if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
            return 1  # `| head` closed the pipe: nothing is left to tell it
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"pepperpy: error: {_one_line(str(exc.strerror or exc) + where)}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pepperpy: interrupted", file=sys.stderr)
        return 130


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe its reader closed; then it is pointed at
    /dev/null, so the interpreter's last flush does not fail once more."""
    import os
    import select

    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if not any(event & select.POLLERR for _, event in poll.poll(0)):
            return False
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _one_line(message: str) -> str:
    """One line, with anything a terminal would interpret escaped (names in errors come
    from bundles and file names)."""
    from pepperpy.cli.output import printable

    return printable(" ".join(message.split()))
