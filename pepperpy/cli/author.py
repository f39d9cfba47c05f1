"""``pepperpy plugin new|lint``: the start of the plugin author's loop (pepperplug-dev).

``new`` writes a plugin folder that passes its own tests (``plugin test``, from
pepperplug-testing, runs them); ``lint`` checks what a build cannot (see
:mod:`pepperpy.scaffold.lint`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_plugin_commands"]

def add_plugin_commands(plugin_subparsers: argparse._SubParsersAction) -> None:
    new = plugin_subparsers.add_parser(
        "new", help="create a plugin folder that builds and passes its own tests",
        description=(
            "Write DIR/NAME/: plugin.json, provider.py (a working minimal provider), "
            "README.md, AGENTS.md and tests/ running the conformance suite.\n\n"
            "example: pepperpy plugin new llm_echo_provider --category llm --out plugins"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("name", metavar="NAME", help="plugin name, e.g. llm_echo_provider")
    new.add_argument("--category", required=True, metavar="CATEGORY",
                     help="llm, embeddings, rag, storage, tools, or a new category's name "
                          "(e.g. calendar: a provider reached with pepper.use)")
    new.add_argument("--provider-name", metavar="P",
                     help="the name users pass to with_llm(...) (default: from NAME)")
    new.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="folder to create NAME in (default: the current folder)")
    new.add_argument("--author", default="", help="author field of plugin.json")
    new.set_defaults(func=cmd_new)

    lint = plugin_subparsers.add_parser(
        "lint", help="check a plugin folder before building it",
        description=(
            "Check SRC_DIR: the manifest, the entry point (imported through the verified "
            "path), the interface, the config schema and its defaults, the README, and "
            "that uv can resolve the dependencies for this Python. Exit 0 if all pass.\n\n"
            "example: pepperpy plugin lint plugins/llm_echo_provider"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint.add_argument("src", type=Path, metavar="SRC_DIR")
    lint.add_argument("--no-resolve", action="store_true",
                      help="skip the dependency resolution with uv (offline)")
    lint.set_defaults(func=cmd_lint)


def cmd_new(args: argparse.Namespace) -> int:
    from pepperpy.scaffold import new_plugin

    target = new_plugin(args.name, args.category, out=args.out,
                        provider_name=args.provider_name, author=args.author)
    print(target)
    print(f"next: pepperpy plugin test {target}", file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from pepperpy.scaffold.lint import lint_plugin

    problems = lint_plugin(args.src, resolve=not args.no_resolve)
    for problem in problems:
        print(f"  FAIL  {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {args.src}")
        return 1
    print(f"OK {args.src}")
    return 0
