"""``pepperpy plugin new|lint|readme``: the start of the plugin author's loop
(pepperplug-dev).

``new`` writes a plugin folder that passes its own tests (``plugin test``, from
pepperplug-testing, runs them); ``lint`` checks what a build cannot (see
:mod:`pepperpy_dev.scaffold.lint`).
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
            "example: pepperpy plugin new llm_echo_provider --category llm --out plugins\n"
            "example: pepperpy plugin new llm_acme_provider --category llm "
            "--template openai-compatible"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("name", metavar="NAME", help="plugin name, e.g. llm_echo_provider")
    new.add_argument("--category", required=True, metavar="CATEGORY",
                     help="llm, embeddings, rag, storage, tools, documents, or a new "
                          "category's name (e.g. calendar: a provider reached with "
                          "pepper.use)")
    new.add_argument("--provider-name", metavar="P",
                     help="the name users pass to with_llm(...) (default: from NAME)")
    new.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="folder to create NAME in (default: the current folder)")
    new.add_argument("--author", default="", help="author field of plugin.json")
    new.add_argument("--template", choices=("minimal", "openai-compatible"),
                     default="minimal",
                     help="openai-compatible (llm): a provider for a service that speaks "
                          "OpenAI's API, on the installed PepperPy's wire code")
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
    lint.add_argument("--fix", action="store_true",
                      help="first rewrite the README's options/dependencies section from "
                           "plugin.json (as `plugin readme` does)")
    lint.set_defaults(func=cmd_lint)

    readme = plugin_subparsers.add_parser(
        "readme", help="write the README's options and dependencies from plugin.json",
        description=(
            "Rewrite the reference section of SRC_DIR/README.md (every option with its "
            "type, default, environment variable and description; secret options marked; "
            "the dependencies) from plugin.json and its config_schema. Only the text "
            "between the section's two markers changes; a README without them gets its "
            "Options/Dependencies sections replaced, or the section appended.\n\n"
            "example: pepperpy plugin readme plugins/llm_echo_provider"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    readme.add_argument("src", type=Path, metavar="SRC_DIR")
    readme.set_defaults(func=cmd_readme)


def cmd_new(args: argparse.Namespace) -> int:
    from pepperpy_dev.scaffold import new_plugin

    target = new_plugin(args.name, args.category, out=args.out,
                        provider_name=args.provider_name, author=args.author,
                        template=args.template)
    print(target)
    wire = " --wire openai" if args.template == "openai-compatible" else ""
    print(f"next: pepperpy plugin test {target}{wire}", file=sys.stderr)
    return 0


def cmd_readme(args: argparse.Namespace) -> int:
    from pepperpy_dev.scaffold.readme import update_readme

    path, changed = update_readme(args.src)
    print(f"{'updated' if changed else 'unchanged'} {path}")
    if changed:
        print("next: bump \"version\" in plugin.json (the README ships in the bundle)",
              file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from pepperpy_dev.scaffold.lint import lint_plugin

    if args.fix:
        cmd_readme(args)
    problems = lint_plugin(args.src, resolve=not args.no_resolve)
    for problem in problems:
        print(f"  FAIL  {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {args.src}")
        return 1
    print(f"OK {args.src}")
    return 0
