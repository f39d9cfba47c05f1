"""``pepperpy plugin verify|inspect``: check signed bundles (``plugin build`` is in
:mod:`pepperpy_dev.cli.build`, shipped by pepperplug-dev).

The ``plugin`` group is shared with the plugin manager's commands; the dispatcher
creates it and calls :func:`add_plugin_commands`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pepperpy.cli.output import printable
from pepperpy.core import BundleInvalidError, UntrustedPublisherError, ValidationError

if TYPE_CHECKING:
    from pepperpy.bundle.trust import TrustSnapshot

__all__ = ["add_plugin_commands"]


def add_plugin_commands(plugin_subparsers: argparse._SubParsersAction) -> None:
    verify = plugin_subparsers.add_parser(
        "verify", help="check a bundle completely against the trust store",
        description="Exit 0 if FILE is valid and trusted, 1 naming the reason if not.\n\n"
                    "example: pepperpy plugin verify "
                    "dist_plugins/llm_openai_provider-1.0.3.pepperplugin\n"
                    "example: pepperpy plugin verify dist/my-1.0.0.pepperplugin --key acme.pub",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument("--key", type=Path, metavar="PUBFILE",
                        help="verify against this public key (e.g. your own acme.pub) "
                             "instead of the trust store, which is neither read nor changed")
    verify.set_defaults(func=cmd_verify)

    inspect = plugin_subparsers.add_parser(
        "inspect", help="show a bundle's manifest, key, digest, files and state",
        description="Works on untrusted bundles too (nothing in them is run); the manifest of "
                    "a bundle that does not verify is shown only with --unverified.\n\n"
                    "example: pepperpy plugin inspect some.pepperplugin --json\n"
                    "example: pepperpy plugin inspect openai   (the installed bundle)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("file", type=Path, metavar="FILE|NAME",
                         help="a .pepperplugin file, or an installed plugin or provider name")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.add_argument("--unverified", action="store_true",
                         help="also show the plugin.json of a bundle that did not verify "
                              "(its claims are not trusted)")
    inspect.set_defaults(func=cmd_inspect)


def read_bundle_file(path: Path) -> bytes:
    """Read a bundle (a regular file only), refusing oversized files before reading them."""
    from pepperpy.trust.gate import read_bundle

    return read_bundle(path)


def _snapshot() -> TrustSnapshot:
    from pepperpy.bundle.trust import TrustStore

    return TrustStore.from_settings().snapshot()


class _NoCache:
    """`plugin verify` checks completely: no verification is taken from, or left in, the
    verified cache."""

    def get(self, digest: str) -> None:
        return None

    def put(self, digest: str, entry: dict[str, str]) -> None:
        pass


def cmd_verify(args: argparse.Namespace) -> int:
    from pepperpy.trust.gate import Trust, check

    snapshot = _snapshot() if args.key is None else _only_key(args.key)
    try:  # one pass over the file in bounded memory, every check a load makes
        bundle = check(args.file, Trust(snapshot, "", _NoCache()))
    except UntrustedPublisherError as exc:
        if args.key is None:
            raise
        theirs = next(iter(snapshot.keys))
        raise UntrustedPublisherError(
            f"{args.file} is signed by key {exc.key_id}, not by the key in {args.key} "
            f"({theirs}); check that you built it with the matching .key file",
            plugin=exc.plugin, key_id=exc.key_id) from None
    except BundleInvalidError as exc:
        if exc.path is None:
            raise BundleInvalidError(exc.reason, plugin=exc.plugin, path=str(args.file)) from exc
        raise
    m = bundle.manifest
    against = f" (against {args.key}, not the trust store)" if args.key else ""
    print(f"OK {m.name} {m.version} publisher={bundle.publisher} key={bundle.key_id} "
          f"sha256={bundle.digest}{against}")
    return 0


def _only_key(path: Path) -> TrustSnapshot:
    """A trust snapshot holding one public key file's key and nothing else."""
    from types import MappingProxyType

    from pepperpy.bundle.keys import load_public_key
    from pepperpy.bundle.trust import TrustedKey, TrustSnapshot

    try:
        key = load_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise ValidationError(f"cannot read public key file {path}: {exc.strerror}") from None
    record = TrustedKey(key.key_id, f"(key file {Path(path).name})", key.raw, "")
    return TrustSnapshot(MappingProxyType({key.key_id: record}))


def _bundle_or_installed(target: Path) -> Path:
    """``target`` itself, or the installed bundle of the plugin or provider it names."""
    text = str(target)
    if target.exists() or text.endswith(".pepperplugin") or "/" in text or "\\" in text:
        return target
    from pepperpy.cli.names import installed_name
    from pepperpy.plugins.install import installed_path
    from pepperpy.settings import Settings

    settings = Settings.from_env()
    return installed_path(settings, installed_name(text, settings))


def cmd_inspect(args: argparse.Namespace) -> int:
    from pepperpy.bundle.inspect import inspect_bundle

    args.file = _bundle_or_installed(args.file)
    data = read_bundle_file(args.file)
    report: dict[str, Any] = {"path": str(args.file),
                              **inspect_bundle(data, _snapshot(), unverified=args.unverified)}
    # A README is the publisher's text: shown when the bundle verified, else only on request.
    show_readme = report["state"] == "verified" or args.unverified
    report["readme"] = _readme(data) if show_readme else None
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    manifest = report["manifest"] or {}
    print(f"file:      {printable(report['path'])}")
    reason = f" ({printable(report['reason'])})" if report["reason"] else ""
    print(f"state:     {report['state']}{reason}")
    if manifest:
        print(f"plugin:    {manifest['name']} {manifest['version']} "
              f"({manifest['category']}/{manifest['provider_name']})")
    print(f"publisher: {printable(report['publisher'] or '(not in trust store)')}")
    print(f"key id:    {report['key_id']}")
    print(f"sha256:    {report['digest']}")
    print(f"size:      {report['size']} bytes")
    for dep in manifest.get("dependencies", []):
        print(f"requires:  {printable(dep)}")
    if "unverified_manifest" in report:
        shown = report["unverified_manifest"]
        text = printable(shown["value"]) if "value" in shown else printable(shown["error"])
        print(f"manifest (UNVERIFIED, not trusted): {text}")
    elif not manifest:
        print("manifest:  not shown: the bundle did not verify (see it with --unverified)")
    print("files:")
    for f in report["files"]:
        problem = f"  PROBLEM: {printable(f['problem'])}" if f.get("problem") else ""
        print(f"  {f['sha256'] or '?' * 64}  {f['size']:>10}  {printable(f['name'])}{problem}")
    if report["readme"] is None:
        print("readme:    (none shown: no README.md, or the bundle did not verify)")
    else:
        trust = "" if report["state"] == "verified" else " (from an unverified bundle)"
        print(f"readme{trust}:")
        for line in report["readme"].splitlines():
            print(f"  | {printable(line)}")
    return 0


_README_LIMIT = 16_000  # characters shown; a README is a summary, not a manual


def _readme(data: bytes) -> str | None:
    """The bundle's README.md as text (bounded reader, same as inspect's), or None."""
    from pepperpy.bundle.inspect import parse_bundle, read_entry
    from pepperpy.core import PepperpyError
    from pepperpy.trust.types import DEFAULT_LIMITS

    try:
        entries = parse_bundle(data, limits=DEFAULT_LIMITS)[0][:-1]
        entry = next((e for e in entries if e.name == "README.md"), None)
        if entry is None:
            return None
        raw = bytes(read_entry(data, entry))
    except PepperpyError:
        return None
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= _README_LIMIT else text[:_README_LIMIT] + "\n[...]"

