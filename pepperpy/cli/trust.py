"""``pepperpy trust``: which publisher keys this machine trusts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy.cli.output import printable
from pepperpy.core import ConfigurationError

if TYPE_CHECKING:
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.trust.types import TrustedKey

__all__ = ["register"]


def _store() -> TrustStore:
    """Imported lazily so `pepperpy --help` stays fast."""
    from pepperpy.bundle.trust import TrustStore

    return TrustStore.from_settings()


def register(subparsers: argparse._SubParsersAction) -> None:
    trust = subparsers.add_parser("trust", help="manage trusted publisher keys",
                                  description="Manage the trust store in $PEPPERPY_HOME.")
    commands = trust.add_subparsers(dest="trust_command", metavar="SUBCOMMAND")
    commands.required = True

    add = commands.add_parser("add", help="trust a publisher's public key",
                              description="Trust NAME.pub.\n\nexample: pepperpy trust add acme.pub",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("pubfile", type=Path, metavar="PUBFILE")
    add.add_argument("--publisher", help="publisher name (default: the file stem)")
    add.add_argument("--scope", action="append", metavar="PLUGIN",
                     help="let this key take over the installed plugin PLUGIN (its name "
                          "and provider) from its current owner, at install and load, "
                          "without --transfer-owner (repeat)")
    add.add_argument("--only", action="append", metavar="PLUGIN",
                     help="trust this key for plugin PLUGIN only (repeat), in one provider "
                          "slot: PLUGIN@category/provider pins it now, a plain PLUGIN is "
                          "pinned to the slot it is first installed in; a bundle it signs "
                          "for any other name or slot is refused")
    add.set_defaults(func=cmd_add)

    lst = commands.add_parser("list", help="show trusted and revoked keys")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=cmd_list)

    for name, func, text in (
        ("remove", cmd_remove, "stop trusting a key (revoked keys stay recorded)"),
        ("revoke", cmd_revoke, "refuse a key forever, even if re-added"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("key_id", metavar="KEY_ID", help="key id or a unique prefix (>= 8)")
        sub.set_defaults(func=func)

    rb = commands.add_parser("revoke-bundle", help="refuse one exact bundle by its SHA-256",
                             description="example: pepperpy trust revoke-bundle 3f2a...")
    rb.add_argument("digest", metavar="SHA256")
    rb.set_defaults(func=cmd_revoke_bundle)


def cmd_add(args: argparse.Namespace) -> int:
    try:
        pem = args.pubfile.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {args.pubfile}: {exc.strerror}") from None
    publisher = args.publisher or args.pubfile.stem
    store = _store()
    before = {k.key_id: k for k in store.list()}
    record = store.add(pem, publisher=publisher,
                       scopes=tuple(args.scope) if args.scope else None,
                       only=tuple(args.only) if args.only else None)
    state = " (REVOKED: stays refused)" if record.revoked else ""
    print(f"trusted {record.key_id} ({printable(record.publisher)}){state}")
    _say_what_only_did(args.only, before.get(record.key_id), record)
    return 0


def _say_what_only_did(only: list[str] | None, before: TrustedKey | None,
                       after: TrustedKey) -> None:
    """Re-adding a key never narrows it, and re-adding it without --only lifts its
    restriction: say so, rather than let `trusted` suggest the options applied."""
    if only and after.only is None:
        print(f"  note: --only was not applied: the key was already trusted for every "
              f"plugin, and adding never narrows a key; to trust it for these plugins only, "
              f"run `pepperpy trust remove {after.key_id[:16]}`, then add it again with "
              "--only")
    elif not only and before is not None and before.only is not None:
        print(f"  note: its restriction to {printable(','.join(before.only))} is lifted: it "
              "is now trusted for every plugin (add it with --only NAME to keep a key to "
              "some plugins)")


def cmd_list(args: argparse.Namespace) -> int:
    from pepperpy.bundle.trust import key_json

    store = _store()
    keys = store.list()
    if args.json:
        body = {"keys": [{"key_id": k.key_id, "weak": k.weak, **key_json(k)} for k in keys],
                "revoked_bundles": store.revoked_bundles()}
        print(json.dumps(body, indent=2))
        return 0
    if not keys:
        print("no trusted keys (add one with `pepperpy trust add NAME.pub`)")
    for k in keys:
        state = "revoked" if k.revoked else ("weak: refused" if k.weak else "trusted")
        scopes = f" scopes={','.join(k.scopes)}" if k.scopes else ""
        scopes += f" only={','.join(k.only)}" if k.only is not None else ""
        print(f"{k.key_id}  {printable(k.publisher)}  {state}  added {k.added_at}{scopes}")
    for digest in store.revoked_bundles():
        print(f"revoked bundle sha256 {digest}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    record = _store().remove(args.key_id)
    if record is None:
        print(f"{printable(args.key_id.strip().lower())} is not in the trust store; nothing "
              "to remove")
    elif record.revoked:
        print(f"{record.key_id} ({printable(record.publisher)}) is revoked; kept as revoked")
    else:
        print(f"removed {record.key_id} ({printable(record.publisher)})")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    record = _store().revoke(args.key_id)
    print(f"revoked {record.key_id} ({printable(record.publisher)}) at {record.revoked_at}")
    return 0


def cmd_revoke_bundle(args: argparse.Namespace) -> int:
    digest = _store().revoke_bundle(args.digest)
    print(f"revoked bundle sha256 {digest}")
    return 0
