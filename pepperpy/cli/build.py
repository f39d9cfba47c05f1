"""``pepperpy plugin build``: sign a plugin folder into a bundle (pepperplug-dev).

The bundle format and its builder (:mod:`pepperpy.bundle.build`) are part of the runtime
(the developer mode builds source folders in memory); the command is the author's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pepperpy.cli.output import printable

__all__ = ["add_plugin_commands"]


def add_plugin_commands(plugin_subparsers: argparse._SubParsersAction) -> None:
    build = plugin_subparsers.add_parser(
        "build", help="build and sign a plugin folder into a .pepperplugin",
        description=(
            "Build SRC_DIR into OUT/<name>-<version>.pepperplugin, signed with KEYFILE.\n\n"
            "examples:\n  pepperpy plugin build plugin_src/llm_openai_provider --key acme.key\n"
            "  pepperpy plugin build --all --key acme.key"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("src", nargs="?", type=Path, metavar="SRC_DIR")
    build.add_argument("--key", required=True, type=Path, metavar="KEYFILE")
    build.add_argument("--out", type=Path, default=Path("dist_plugins"),
                       help="output folder (default: dist_plugins)")
    build.add_argument("--all", action="store_true", help="build every folder under --src")
    build.add_argument("--src", dest="src_root", type=Path, default=Path("plugin_src"),
                       help="with --all: folder of plugin folders (default: plugin_src)")
    build.add_argument("--force", action="store_true",
                       help="replace a bundle of the same name and version that has other "
                            "bytes (normally refused: bump the version instead)")
    build.add_argument("--check", action="store_true",
                       help="run `plugin lint` first and build nothing if it finds problems")
    build.set_defaults(func=cmd_build, _build_parser=build)


def cmd_build(args: argparse.Namespace) -> int:
    from pepperpy.bundle.build import build_all, build_bundle
    from pepperpy.bundle.keys import load_signing_key

    if args.all == (args.src is not None):
        args._build_parser.error("give either SRC_DIR or --all")
    if args.check and not _lint_ok(args):
        return 1
    key = load_signing_key(args.key)
    if args.all:
        results = build_all(args.src_root, args.out, key, force=args.force)
    else:
        results = [build_bundle(args.src, key=key, out_dir=args.out, force=args.force)]
    for result in results:
        for name in result.skipped:
            print(f"pepperpy: warning: skipped {name} (file type not allowed in bundles)",
                  file=sys.stderr)
        print(result.path)
    return 0


def _lint_ok(args: argparse.Namespace) -> bool:
    from pepperpy.scaffold.lint import lint_plugin

    sources = [args.src] if args.src is not None else sorted(
        p.parent for p in Path(args.src_root).glob("*/plugin.json"))
    problems = [f"{src}: {problem}" for src in sources for problem in lint_plugin(src)]
    for problem in problems:
        print(f"pepperpy: error: {printable(problem)}", file=sys.stderr)
    return not problems
