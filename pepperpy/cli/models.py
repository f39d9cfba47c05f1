"""``pepperpy models``: the LLM providers this machine can use, and their default models."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "models", help="list the installed LLM providers and their default models",
        description=(
            "List every LLM provider whose bundle verifies here: the provider name to pass "
            "to `pepperpy chat --provider` or with_llm(), its plugin and version, and the "
            "model used when a chat sets none. Nothing in the bundles is run.\n\n"
            "example: pepperpy models --json"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pepperpy.cli.common import load_settings
    from pepperpy.cli.output import printable
    from pepperpy.plugins.manager import PluginManager

    manager = PluginManager(load_settings())
    rows = []
    for name in manager.available("llm"):
        chosen = manager.choose("llm", name)
        if chosen is None:
            continue
        m = chosen.manifest
        model = ((m.config_schema or {}).get("properties", {}).get("model") or {}).get("default")
        rows.append({"provider": name, "plugin": m.name, "version": m.version,
                     "default_model": model if isinstance(model, str) else None})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no LLM provider is installed (see `pepperpy plugin search --refresh`, then "
              "`pepperpy plugin install NAME`)")
    for r in rows:
        model = r["default_model"] or "(set with --model)"
        print(printable(f"{r['provider']:<14} {model:<28} {r['plugin']} {r['version']}"))
    return 0
