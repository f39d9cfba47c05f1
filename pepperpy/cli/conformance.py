"""``pepperpy plugin test``: run a category's conformance suite against a plugin
(pepperplug-testing).

Builds a plugin folder with a throwaway key (or takes a bundle, verified against the
trust store), loads it through the verified path and runs the rules of
:mod:`pepperpy.testing.conformance`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pepperpy.core import ValidationError

__all__ = ["add_plugin_commands"]


def add_plugin_commands(plugin_subparsers: argparse._SubParsersAction) -> None:
    test = plugin_subparsers.add_parser(
        "test", help="run the conformance suite against a plugin folder or bundle",
        description=(
            "Build SRC with a throwaway key (or take a .pepperplugin, verified against "
            "your trust store), load it through the verified path in a temporary home, "
            "and run its category's conformance suite. Exit 0 if every rule passes.\n\n"
            "examples:\n  pepperpy plugin test plugins/llm_echo_provider\n"
            "  pepperpy plugin test plugin_src/llm_openai_provider --wire openai "
            "--feature tools"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    test.add_argument("src", type=Path, metavar="SRC_OR_BUNDLE")
    test.add_argument("--config", default="{}", metavar="JSON",
                      help="provider options as a JSON object")
    test.add_argument("--wire", choices=("openai", "anthropic"),
                      help="point the provider at a loopback server speaking this protocol")
    test.add_argument("--feature", action="append", default=[],
                      choices=("tools", "structured_output"),
                      help="an optional feature the provider promises (repeatable)")
    test.add_argument("--rule", action="append", default=[], metavar="PREFIX",
                      help="run only rules whose id starts with PREFIX (repeatable)")
    test.add_argument("--timeout", type=float, default=120.0, help="seconds per rule")
    test.add_argument("--no-deps", action="store_true",
                      help="do not install the plugin's dependencies (by default they are "
                           "installed with uv into this Python first)")
    test.set_defaults(func=cmd_test)


def _config(text: str) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"--config is not JSON ({exc}); pass an object like "
                              "'{\"model\": \"m\"}'") from None
    if not isinstance(config, dict):
        raise ValidationError("--config must be a JSON object of provider options")
    return config


def cmd_test(args: argparse.Namespace) -> int:
    from pepperpy.testing.conformance import Subject, load_plugin, rules_for, run_rules
    from pepperpy.testing.conformance.runner import wire_config

    config = _config(args.config)
    plugin = _load(args, load_plugin)
    props = (plugin.config_schema or {}).get("properties", {})

    def config_for(workdir: Path) -> dict[str, Any]:
        extra = {"data_dir": str(workdir)} if "data_dir" in props else {}
        return {**extra, **config}

    with tempfile.TemporaryDirectory() as tmp:  # a config error: one line, not N failures
        wire = wire_config(args.wire, _Unstarted(), plugin.config_schema) if args.wire else {}
        plugin.create({**wire, **config_for(Path(tmp))})
    rules = [r for r in rules_for(plugin.category)
             if not args.rule or any(r.id.startswith(p) for p in args.rule)]
    if not rules:
        raise ValidationError(f"no {plugin.category} rule starts with {', '.join(args.rule)}")
    subject = Subject(plugin.category, plugin.create, config_for, plugin.config_schema,
                      frozenset(args.feature), args.wire, args.timeout)
    print(f"testing {plugin.name} {plugin.version} ({plugin.category}/{plugin.provider_name}),"
          f" loaded through the verified path ({plugin.loaded.origin})", flush=True)
    report = run_rules(subject, rules=rules, on_outcome=_print_outcome)
    print(report.summary())
    return 0 if report.ok else 1


def _load(args: argparse.Namespace, load_plugin: Any) -> Any:
    """The plugin, its dependencies installed first with uv unless --no-deps."""
    from pepperpy.core import DependencyError

    needs = _dependencies(args.src)
    if needs and not args.no_deps:
        print(f"installing its dependencies into this Python ({sys.executable}) with uv: "
              f"{', '.join(needs)} (skip with --no-deps)", file=sys.stderr, flush=True)
    try:
        return load_plugin(args.src, install_deps=not args.no_deps,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    except DependencyError as exc:
        if not args.no_deps:
            raise
        import shlex

        raise DependencyError(
            f"{args.src} needs {', '.join(needs) or 'packages that are not installed'}; run "
            f"`pepperpy plugin test {shlex.quote(str(args.src))}` without --no-deps (it "
            "installs them with uv), or install them yourself: `uv pip install --python "
            f"{shlex.quote(sys.executable)} {shlex.join(needs)}`", plugin=exc.plugin,
        ) from None


def _dependencies(src: Path) -> list[str]:
    """A source folder's declared dependencies (a bundle's are read when it verifies)."""
    try:
        manifest = json.loads((Path(src) / "plugin.json").read_bytes())
    except (OSError, ValueError):
        return []
    found = manifest.get("dependencies") if isinstance(manifest, dict) else None
    return [d for d in found if isinstance(d, str)] if isinstance(found, list) else []


class _Unstarted:
    """Stands in for a wire server when only the config's shape is checked."""

    url = "http://127.0.0.1:9"


def _print_outcome(outcome: Any) -> None:
    label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[outcome.status]
    line = f"  {label}  {outcome.rule.id}"
    if outcome.status == "skipped":
        line += f" ({outcome.detail})"
    print(line, flush=True)
    if outcome.status == "failed":
        print(f"        {outcome.detail}", flush=True)
