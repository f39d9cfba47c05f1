"""``pepperpy index`` and ``pepperpy plugin search|update|outdated``: signed plugin indexes.

Handlers call :mod:`pepperpy.distribution`; errors become one line and exit 1 in
``pepperpy/cli/__init__.py``. Everything printed from an index is escaped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pepperpy.cli.common import add_command, load_settings, progress
from pepperpy.cli.output import installed_line, printable

__all__ = ["add_plugin_commands", "choose_all", "install_by_name", "print_installed",
           "register"]


def register(subparsers: Any) -> None:
    index = subparsers.add_parser(
        "index", help="configure signed plugin indexes (TUF)",
        description="Configure the plugin indexes this machine installs from.",
    )
    commands = index.add_subparsers(dest="index_command", metavar="SUBCOMMAND")
    commands.required = True
    p = add_command(commands, "add", cmd_add)
    p.add_argument("name", metavar="NAME")
    p.add_argument("url", metavar="URL", help="the folder holding metadata/ and targets/")
    p.add_argument("--root", type=Path, required=True, metavar="ROOTFILE",
                   help="the index's 1.root.json, obtained out of band")
    p.add_argument("--trust-publishers", action="store_true",
                   help="also trust the publisher keys the index names (shown first)")
    p = add_command(commands, "list", cmd_list)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add_command(commands, "remove", cmd_remove)
    p.add_argument("name", metavar="NAME")
    p = add_command(commands, "trust", cmd_trust)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    p = add_command(commands, "order", cmd_order)
    p.add_argument("names", nargs="+", metavar="NAME", help="indexes to put first, in order")
    p = add_command(commands, "mirror", cmd_mirror)
    p.add_argument("name", metavar="NAME")
    p.add_argument("dir", type=Path, metavar="DIR")


def add_plugin_commands(plugin_subparsers: Any) -> None:
    """``plugin search``, ``plugin update`` and ``plugin outdated``."""
    p = add_command(plugin_subparsers, "search", cmd_search)
    p.add_argument("term", nargs="?", metavar="TERM")
    p.add_argument("--json", action="store_true", help="every matching version, as JSON")
    p.add_argument("--refresh", action="store_true",
                   help="refresh the indexes first (default: reuse a refresh < 5 min old)")
    p.add_argument("--index", metavar="NAME", help="only this index")
    p = add_command(plugin_subparsers, "update", cmd_update)
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="plugin or provider names (default: every installed plugin)")
    p.add_argument("--no-deps", action="store_true", help="do not install dependencies")
    p.add_argument("--index", metavar="NAME", help="only this index")
    p = add_command(plugin_subparsers, "outdated", cmd_outdated)
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="plugin or provider names (default: every installed plugin)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--index", metavar="NAME", help="only this index")










def choose_all(args: argparse.Namespace, names: list[str]) -> Any:
    """The session ``plugin install`` installs ``names`` from, once each name has been
    found in the indexes: a name no index offers is refused before anything installs."""
    from pepperpy.core import PepperpyError

    session = _session(args)
    for name in names:
        try:
            session.choose(name, category=args.category)
        except PepperpyError as exc:
            if exc.args:
                exc.args = (f"{exc.args[0]}; nothing was installed", *exc.args[1:])
            raise
    return session


def _session(args: argparse.Namespace) -> Any:
    from pepperpy.distribution.fetch import Session

    return Session(load_settings(), index=getattr(args, "index", None), progress=progress)


def cmd_add(args: argparse.Namespace) -> int:
    """Add an index, pinning its root; refreshes once to check URL and root belong together.

    The root is trusted because you got it out of band, never because the server sent
    it. Trusting an index does not trust its publishers: add their keys with
    `pepperpy trust add`, or pass --trust-publishers to trust the keys it names.

    example: pepperpy index add main https://plugins.example.org --root 1.root.json
    """
    from pepperpy.distribution.fetch import add_index

    added = add_index(load_settings(), args.name, args.url, args.root,
                      trust_publishers=args.trust_publishers, show=progress)
    config, offers, keys = added.config, added.offers, added.keys
    plugins = len({o.name for o in offers})
    print(f"added index {config.name} ({printable(config.url)}): {plugins} plugin(s), "
          f"{len(offers)} version(s)")
    if not args.trust_publishers:
        for key in keys:  # as the trust store was read before the index was added
            held = added.trusted.get(key.key_id)
            state = "not in your trust store" if held is None else (
                "revoked in your trust store" if held.revoked else "in your trust store")
            print(f"  publisher {printable(key.publisher)!r} key {key.key_id[:16]} signs "
                  f"{printable(', '.join(key.names))} ({state})")
        if any(added.trusted.get(key.key_id) is None for key in keys):
            print(f"  installs need their keys: `pepperpy index trust {config.name}` adds "
                  "them after showing each, or `pepperpy trust add PUBFILE` with the .pub "
                  "its publisher gave you")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the configured indexes.

    example: pepperpy index list --json
    """
    from pepperpy.distribution import pending_trust
    from pepperpy.distribution.store import IndexStore

    settings = load_settings()
    store = IndexStore(settings)
    pending_trust.settle(settings, store, progress)  # what a crashed `index add` left
    configs = store.list()
    if args.json:
        print(json.dumps([{"name": c.name, "url": c.url, "added_at": c.added_at}
                          for c in configs], indent=2))
        return 0
    if not configs:
        print("no index configured (add one with `pepperpy index add NAME URL --root ROOT`)")
    for c in configs:
        print(f"{c.name:<16} {printable(c.url)} (added {c.added_at})")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    """Re-read the publishers index NAME names and widen trust after asking: keys not
    trusted yet, and plugins a scoped key (`index add --trust-publishers`, `trust add
    --only`) does not cover yet, such as a plugin the publisher shipped since.

    example: pepperpy index trust main
    """
    import sys

    from pepperpy.core import ConfigurationError
    from pepperpy.distribution.fetch import (
        Session,
        apply_trust,
        settle_trust,
        trust_changes,
    )

    settings = load_settings()
    session = Session(settings, index=args.name, progress=progress)
    changes = trust_changes(settings, session.offers())
    if not changes:
        settle_trust(settings)  # what a run of this command cut short had left
        print(f"nothing to add: the trust store already covers every plugin index "
              f"{args.name} signs")
        return 0
    for c in changes:
        what = "trust new key" if c.new_key else "widen key"
        print(printable(f"{what} {c.key.key_id[:16]} ({c.key.publisher or 'unnamed'}) "
                        f"for: {', '.join(c.slots)}"))
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigurationError("not a terminal, so nothing was changed: review the "
                                     "list above and run again with --yes")
        if input("trust these? [y/N] ").strip().lower() not in {"y", "yes"}:
            print("nothing changed")
            return 1
    apply_trust(settings, changes)
    print(f"trusted: {sum(len(c.slots) for c in changes)} plugin(s) of index {args.name}")
    return 0


def cmd_order(args: argparse.Namespace) -> int:
    """Put these indexes first, in this order: when two indexes list the same provider
    slot (category/provider), installs and updates take it from the first one.

    example: pepperpy index order internal main
    """
    from pepperpy.distribution.store import IndexStore

    configs = IndexStore(load_settings()).reorder(list(args.names))
    print("index order: " + " > ".join(c.name for c in configs))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove an index and its cached metadata (installed plugins stay).

    example: pepperpy index remove main
    """
    from pepperpy.distribution.store import IndexStore

    IndexStore(load_settings()).remove(args.name)
    print(f"removed index {args.name}")
    return 0


def cmd_mirror(args: argparse.Namespace) -> int:
    """Copy a verified snapshot of an index (metadata and bundles) into DIR.

    DIR can be served by any web server or used as a file:// URL (air-gapped hosts, CI).
    Its timestamp expires as the index's does: mirror again before that.

    example: pepperpy index mirror main /srv/pepperpy-mirror
    """
    from pepperpy.distribution.mirror import mirror_index

    copied = mirror_index(load_settings(), args.name, args.dir, progress=progress)
    print(f"mirrored {copied} bundle(s) of index {args.name} into {args.dir}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Search the indexes by name, provider, category or description.

    example: pepperpy plugin search openai
    """
    from pepperpy.distribution import catalog

    session = _session(args)
    offers = session.search(args.term, refresh=args.refresh)
    used = catalog.first_index_wins(offers, [c.name for c in session.configs])
    if args.json:
        print(json.dumps([{**o.as_dict(), "used": o in used} for o in offers], indent=2))
        return 0
    newest = catalog.newest_by_name(used)
    names = sorted({o.name for o in offers})
    if not names:
        print("no plugin matches" + (f" {printable(args.term)!r}" if args.term else ""))
    for name in names:
        mine = [o for o in used if o.name == name] or [o for o in offers if o.name == name]
        best = newest.get(name)
        shown = best or mine[-1]
        versions = len({o.version for o in mine})
        yanked = len({o.version for o in mine if o.yanked})
        count = f"{versions} version(s)" + (f", {yanked} yanked" if yanked else "")
        note = "" if best else " (no usable version: yanked or incompatible)"
        print(f"{printable(name)} {printable(shown.version)} [{printable(shown.category)}/"
              f"{printable(shown.provider_name)}] from index {printable(shown.index)} "
              f"({count}){note}")
        if shown.description:
            print(f"    {printable(shown.description)}")
        others = sorted({o.index for o in offers if o.name == name} - {shown.index})
        if others:
            print(f"    also listed by index {printable(', '.join(others))} (not used: "
                  f"{printable(shown.index)} comes first in `pepperpy index list`)")
    return 0


def install_by_name(args: argparse.Namespace) -> int:
    """``plugin install NAME[==VERSION]`` (called by the install command in manage.py)."""
    outcome = _session(args).install(
        args.target, category=args.category, deps=not args.no_deps,
        allow_downgrade=args.allow_downgrade, force=args.force,
        transfer_owner=args.transfer_owner)
    print_installed(outcome.offer, outcome.action, outcome.result)
    return 0


def print_installed(o: Any, action: str, result: Any) -> None:
    """The line an install from an index prints."""
    if action == "unchanged":
        print(f"unchanged {o.name} {o.version} (already installed from index {o.index})")
    else:
        print(installed_line(action, result.record, result.path, f" from index {o.index}"))


def cmd_update(args: argparse.Namespace) -> int:
    """Install the newest usable version of installed plugins from the indexes.

    example: pepperpy plugin update openai
    """
    from pepperpy.cli.names import installed_name

    settings = load_settings()
    names = [installed_name(n, settings) for n in args.names]
    outcomes = _session(args).update(names or None, deps=not args.no_deps)
    if not outcomes:
        print("everything is up to date")
    for outcome in outcomes:
        print(f"{outcome.action} {outcome.offer.name} {outcome.offer.version} "
              f"(from index {outcome.offer.index})")
    return 0


def cmd_outdated(args: argparse.Namespace) -> int:
    """List installed plugins for which an index offers a newer version.

    example: pepperpy plugin outdated --json
    example: pepperpy plugin outdated openai
    """
    from pepperpy.cli.names import installed_name

    settings = load_settings()
    names = {installed_name(n, settings) for n in args.names}
    rows = [r for r in _session(args).outdated() if not names or r.name in names]
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    if not rows:
        print("everything is up to date")
    for r in rows:
        if not r.yanked:
            print(f"{r.name} {r.installed} -> {printable(r.latest)} (index {r.index})")
            if r.fix:  # the newer version would be refused for its signing key
                print(f"    note: {printable(r.fix)}")
            continue
        reason = f": {printable(r.yanked_reason)}" if r.yanked_reason else ""
        print(f"{r.name} {r.installed} YANKED by index {r.index}{reason}")
        print(f"    fix: {printable(r.fix)}")
    return 0
