"""``pepperpy keygen``: make an ed25519 publisher key pair."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pepperpy.core import ConfigurationError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keygen",
        help="create a publisher signing key (NAME.key, mode 0600) and NAME.pub",
        description=(
            "Create an ed25519 key pair for signing plugin bundles. NAME.key is written "
            "with mode 0600 and never printed; share NAME.pub with operators.\n\n"
            "example: pepperpy keygen --publisher acme --out ~/keys"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--publisher", required=True, help="publisher name (file stem)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the key files (default: $PEPPERPY_HOME/keys)")
    parser.add_argument("--passphrase-env", metavar="VAR",
                        help="encrypt NAME.key with the passphrase in environment variable VAR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pepperpy.bundle.keys import generate_key
    from pepperpy.settings import Settings

    passphrase = None
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise ConfigurationError(
                f"--passphrase-env {args.passphrase_env}: that environment variable is empty"
            )
        passphrase = value.encode()
    out = args.out if args.out is not None else Settings.from_env().home / "keys"
    made = generate_key(publisher=args.publisher, out_dir=out.expanduser(), passphrase=passphrase)
    from pepperpy.distribution.signer import tuf_key_id

    print(f"key id:      {made.key_id}")
    print(f"TUF key id:  {tuf_key_id(made.public_path)} (as a repository key: "
          "`pepperpy repo status` and index errors name it)")
    print(f"private key: {made.private_path} (mode 0600, keep it secret)")
    print(f"public key:  {made.public_path}")
    return 0
