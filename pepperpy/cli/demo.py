"""``pepperpy demo``: the main job on embedded defaults (filled in by the demo module)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "demo", help="answer questions over a small corpus, offline",
        description=(
            "The main job, from a PepperPy source checkout: create and trust a development "
            "key in PEPPERPY_HOME (`make demo` sets it to .pepperpy-demo/ in the checkout), "
            "build and sign "
            "plugin_src/, publish the bundles to a loopback signed index and install them "
            "from it by name, install their dependencies with uv, then answer three "
            "questions over examples/corpus/ with the local model.\n\n"
            "example: make demo   (or: PEPPERPY_HOME=.pepperpy-demo pepperpy demo)"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pepperpy.demo import run_demo

    return run_demo()
