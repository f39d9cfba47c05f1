"""``pepperpy demo``: the main job on embedded defaults (filled in by the demo module)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser("demo", help="answer questions over a small corpus, offline")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pepperpy.demo import run_demo

    return run_demo()
