"""``pepperpy repo``: publish signed bundles as a TUF repository of static files.

Handlers parse arguments and call :mod:`pepperpy.distribution.repository`; errors are
turned into one line and exit 1 by ``pepperpy/cli/__init__.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pepperpy.cli.common import add_command

__all__ = ["register"]

_EXPIRES_HELP = ("ROLE=DURATION, e.g. timestamp=12h or snapshot=3d (repeat); defaults: "
                 "timestamp 1d, snapshot 7d, targets 90d, root 365d")


def register(subparsers: Any) -> None:
    repo = subparsers.add_parser(
        "repo", help="publish bundles as a signed plugin index (TUF)",
        description="Publish bundles as a TUF repository: DIR/metadata/ and DIR/targets/, "
                    "served as is by any static web server, object store or CDN.",
    )
    commands = repo.add_subparsers(dest="repo_command", metavar="SUBCOMMAND")
    commands.required = True

    p = _add(commands, "init", cmd_init)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--timestamp-key", type=Path, metavar="KEYFILE",
                   help="a separate key for the timestamp role (the one a cron job holds)")
    p.add_argument("--snapshot-key", type=Path, metavar="KEYFILE",
                   help="a separate key for the snapshot role")
    p.add_argument("--targets-key", type=Path, metavar="KEYFILE",
                   help="a separate key for the targets role")

    p = _add(commands, "add", cmd_add)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE")
    p.add_argument("--timestamp-key", type=Path, metavar="KEYFILE",
                   help="also publish the new timestamp with this key")
    p.add_argument("--publisher-key", type=Path, action="append", metavar="PUBFILE",
                   help="verify bundles against this publisher key instead of the trust "
                        "store (repeat)")

    p = _add(commands, "yank", cmd_yank)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("spec", metavar="NAME==VERSION")
    p.add_argument("--reason", default="", help="shown to users who try to install it")
    p.add_argument("--timestamp-key", type=Path, metavar="KEYFILE")

    p = _add(commands, "refresh", cmd_refresh)
    p.add_argument("dir", type=Path, metavar="DIR")

    p = add_command(commands, "status", cmd_status)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--key", type=Path, action="append", default=[], metavar="KEYFILE",
                   help="a .key or .pub file: show which role ids it holds (repeat)")

    p = _add(commands, "rotate", cmd_rotate)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--new-key", type=Path, required=True, metavar="NEW_KEYFILE")
    p.add_argument("--timestamp-key", type=Path, metavar="KEYFILE",
                   help="the timestamp key, if another key holds that role")


def _add(subparsers: Any, name: str, handler: Any) -> argparse.ArgumentParser:
    parser = add_command(subparsers, name, handler)
    parser.add_argument("--key", type=Path, required=True, metavar="KEYFILE",
                        help="ed25519 key file written by `pepperpy keygen`")
    parser.add_argument("--expires", action="append", metavar="ROLE=DURATION",
                        help=_EXPIRES_HELP)
    return parser


def _repo(args: argparse.Namespace) -> Any:
    from pepperpy.distribution.config import parse_expiries
    from pepperpy.distribution.repository import Repository

    return Repository(args.dir, expiries=parse_expiries(args.expires))


def _signers(*paths: Path | None) -> list[Any]:
    from pepperpy.distribution.signer import load_signer

    return [load_signer(p) for p in paths if p is not None]


def cmd_init(args: argparse.Namespace) -> int:
    """Create an empty index in DIR, signed by --key (and the role keys given).

    Consistent snapshots are on: every file but metadata/timestamp.json is immutable.
    Hand DIR/metadata/1.root.json to your users out of band; they pin it.

    example: pepperpy repo init ./index --key acme.key --timestamp-key cron.key
    """
    (key,) = _signers(args.key)
    roles = {}
    for role, path in (("timestamp", args.timestamp_key), ("snapshot", args.snapshot_key),
                       ("targets", args.targets_key)):
        if path is not None:
            roles[role] = _signers(path)[0]
    root = _repo(args).init(key=key, role_keys=roles)
    print(f"created index {args.dir}; hand out the root: {root}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Verify bundles and publish them; each target is named as `plugin build` names it.

    A bundle must verify against the trust store (or --publisher-key); a version already
    in the index with other bytes is refused.

    example: pepperpy repo add ./index dist_plugins/*.pepperplugin --key acme.key
    """
    repo = _repo(args)
    signers = _signers(args.key, args.timestamp_key)
    results = repo.add(args.bundles, signers=signers, trust=_trust(args.publisher_key))
    for r in results:
        print(f"{r.action} {r.path} (sha256 {r.sha256[:16]})")
    _say_timestamp(repo, args)
    return 0


def _trust(pubfiles: list[Path] | None) -> Any:
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.settings import Settings

    if not pubfiles:
        return TrustStore(Settings.from_env().trust_file).snapshot()
    from types import MappingProxyType

    from pepperpy.bundle.keys import load_public_key
    from pepperpy.bundle.trust import TrustedKey, TrustSnapshot

    keys = {}
    for path in pubfiles:
        key = load_public_key(path.read_bytes())
        keys[key.key_id] = TrustedKey(key.key_id, path.stem, key.raw, "")
    return TrustSnapshot(MappingProxyType(keys))


def _say_timestamp(repo: Any, args: argparse.Namespace) -> None:
    if repo.timestamp_published():
        return
    how = (f"`pepperpy repo refresh {args.dir} --key TIMESTAMP_KEYFILE` (or pass "
           "--timestamp-key here)")
    if not (repo.metadata_dir / "timestamp.json").exists():
        print(f"not published yet: the index has no timestamp, so clients cannot use it "
              f"until you run {how}")
    else:
        print(f"not published yet: clients keep seeing the previous snapshot (without this "
              f"change) until you run {how}")


def cmd_status(args: argparse.Namespace) -> int:
    """Show each role of the index in DIR: version, expiry, TUF key ids and threshold;
    with --key files, the file each key id belongs to (match the ids in errors such as
    "none of the keys given holds the targets role (its key: 98c3...)").

    example: pepperpy repo status ./index --key acme.key --key cron.pub
    """
    from pepperpy.distribution.repository import Repository
    from pepperpy.distribution.signer import tuf_key_id

    files: dict[str, list[str]] = {}
    for path in args.key:
        files.setdefault(tuf_key_id(path), []).append(str(path))
    rows = Repository(args.dir).status()
    for row in rows:
        state = (f"version {row.version}, expires {row.expires}" if row.version is not None
                 else "not published")
        print(f"{row.role:<10} {state}; threshold {row.threshold}")
        for key_id in row.key_ids:
            where = f"  ({', '.join(files[key_id])})" if key_id in files else ""
            print(f"           key {key_id}{where}")
    for key_id, paths in files.items():
        if all(key_id not in r.key_ids for r in rows):
            print(f"{', '.join(paths)}: holds no role of this index (TUF key id {key_id})")
    return 0


def cmd_yank(args: argparse.Namespace) -> int:
    """Withdraw NAME==VERSION: clients refuse to install it (its file stays, immutable).

    example: pepperpy repo yank ./index llm_openai_provider==1.0.1 --key acme.key --reason "CVE-..."
    """
    from pepperpy.core import ValidationError

    name, sep, version = args.spec.partition("==")
    if not sep or not name or not version:
        raise ValidationError(f"{args.spec[:80]!r} is not NAME==VERSION")
    repo = _repo(args)
    path = repo.yank(name, version, signers=_signers(args.key, args.timestamp_key),
                     reason=args.reason)
    print(f"yanked {path}")
    _say_timestamp(repo, args)
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Sign a new timestamp (run it from cron, well within the timestamp's expiry).

    Snapshot and targets are re-signed too when less than half their lifetime is left
    and --key holds their role.

    example: pepperpy repo refresh ./index --key cron.key
    """
    version = _repo(args).refresh(signers=_signers(args.key))
    print(f"timestamp version {version} published in {args.dir}")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Replace a key: a new root signed by the old (--key) and the new key.

    Clients that pinned an older root follow the chain; every role the old key held is
    moved to the new key and re-signed.

    example: pepperpy repo rotate ./index --key old.key --new-key new.key --timestamp-key cron.key
    """
    old, new = _signers(args.key, args.new_key)
    repo = _repo(args)
    version = repo.rotate(old=old, new=new, others=_signers(args.timestamp_key))
    print(f"root version {version} published in {args.dir}")
    _say_timestamp(repo, args)
    return 0
