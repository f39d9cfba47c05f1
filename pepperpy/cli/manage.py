"""``pepperpy plugin install|list|remove|deps|doctor``: thin wrappers over the plugin manager.

Handlers parse nothing themselves and raise ``PepperpyError`` on failure; the dispatcher
in ``pepperpy/cli/__init__.py`` turns that into one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from pepperpy.cli.common import add_command, load_settings, progress
from pepperpy.cli.output import installed_line, printable

__all__ = ["add_plugin_commands"]


def add_plugin_commands(plugin_subparsers: Any) -> None:
    """Register the management commands under the ``plugin`` group."""
    p = add_command(plugin_subparsers, "install", cmd_install)
    p.add_argument("targets", nargs="+", metavar="FILE|NAME[==VERSION]",
                   help="a .pepperplugin bundle, or a plugin/provider name from an index "
                   "(several: all checked first, then installed in order)")
    p.add_argument("--category", help="with NAME: the category, when a provider name is "
                   "offered in several (e.g. llm or embeddings)")
    p.add_argument("--index", metavar="NAME", help="with NAME: install from this index only")
    p.add_argument("--no-deps", action="store_true", help="do not install its dependencies")
    p.add_argument("--allow-downgrade", action="store_true",
                   help="allow replacing a newer installed version with this older one")
    p.add_argument("--force", action="store_true",
                   help="allow replacing the installed bundle of the same version")
    p.add_argument("--transfer-owner", action="store_true",
                   help="let this bundle's key take over a name owned by another key")
    p = add_command(plugin_subparsers, "list", cmd_list)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add_command(plugin_subparsers, "remove", cmd_remove)
    p.add_argument("name", metavar="NAME", help="installed plugin or provider name")
    p = add_command(plugin_subparsers, "deps", cmd_deps)
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="plugin or provider names (default: every installed plugin)")
    p = add_command(plugin_subparsers, "doctor", cmd_doctor)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--fix", action="store_true",
                   help="finish or undo interrupted installs and remove what crashes left")








def cmd_install(args: argparse.Namespace) -> int:
    """Verify a bundle (a file, or by name from an index) and install it.

    Refuses untrusted, tampered or revoked bundles, an older version than the installed
    one (unless --allow-downgrade), the same version with other bytes (unless --force),
    and a name owned by another publisher's key (unless --transfer-owner). Installing the
    identical bundle again changes nothing. Then installs its dependencies with uv.

    NAME[==VERSION] (a provider or plugin name) picks the highest version compatible
    with this PepperPy and Python from the configured indexes (`pepperpy index add`),
    downloads it through TUF's checks, then installs it exactly as a file.

    Several targets are each looked up, downloaded, verified and checked first (trust,
    revocation, rollback, against what is installed and the earlier targets): one that
    is refused installs none of them, and the error names it. Then they are installed in
    order from the verified bytes, each printed; the first that fails stops the rest.
    --allow-downgrade, --force and --transfer-owner take a single target.

    example: pepperpy plugin install dist_plugins/llm_openai_provider-1.0.3.pepperplugin
    example: pepperpy plugin install anthropic
    example: pepperpy plugin install markdown pdf docx html --category documents
    """
    overrides = [flag for flag in _OVERRIDES if getattr(args, flag.strip("-").replace("-", "_"))]
    if len(args.targets) > 1 and overrides:
        from pepperpy.core import ValidationError

        raise ValidationError(
            f"{' and '.join(overrides)} lift a check for the one bundle you decided on, so "
            f"they take one target, not {len(args.targets)}; install that bundle alone with "
            "them and the others without; nothing was installed")
    if len(args.targets) == 1:
        return _install_one(argparse.Namespace(**{**vars(args), "target": args.targets[0]}))
    from pepperpy.plugins.install_plan import install_checked

    settings = load_settings()
    with contextlib.ExitStack() as held:
        checked = _check_targets(args, settings, held)
        for offer, bundle in checked:
            result = install_checked(bundle, settings=settings)
            _report(args, settings, result, offer)
    return 0


def _check_targets(args: argparse.Namespace, settings: Any,
                   held: contextlib.ExitStack) -> list[tuple[Any, Any]]:
    """Every target verified and judged before the first install starts (see
    ``pepperpy.plugins.install_plan``): ``(offer or None, checked)`` in order. A refused
    target installs none, and the error names it."""
    from pepperpy.core import PepperpyError
    from pepperpy.plugins.install_plan import Plan

    session = _read_targets(args)
    plan = Plan(settings)
    checked = []
    for target in args.targets:
        offer = None
        try:
            if _is_bundle_path(target):
                bundle = plan.check_file(Path(target))
            else:
                offer = session.choose(target, category=args.category)
                bundle = session.check_offer(offer, plan, held)
        except PepperpyError as exc:
            if exc.args:
                exc.args = (f"{exc.args[0]}; nothing was installed (target {target!r} "
                            "was refused)", *exc.args[1:])
            raise
        checked.append((offer, bundle))
    return checked


def _report(args: argparse.Namespace, settings: Any, result: Any, offer: Any = None) -> None:
    """The line an install prints, then its dependencies (unless --no-deps)."""
    from pepperpy.plugins.install import install_dependencies

    if offer is not None:
        from pepperpy.cli.index import print_installed

        print_installed(offer, result.action, result)
    else:
        was = f" (was {result.previous.version})" if result.previous and \
            result.action != "unchanged" else ""
        print(installed_line(result.action, result.record, result.path, was))
    if not args.no_deps:
        install_dependencies(result, settings=settings, progress=progress)


def _read_targets(args: argparse.Namespace) -> Any:
    """Before the first of several installs: every file can be read and every name is
    offered by an index, so a typo in the last target installs none of the others.
    Returns the index session the names were found in (None without names)."""
    from pepperpy.core import ConfigurationError

    for target in filter(_is_bundle_path, args.targets):
        if not Path(target).is_file():
            raise ConfigurationError(f"{target}: no such bundle file; nothing was installed")
    names = [t for t in args.targets if not _is_bundle_path(t)]
    if not names:
        return None
    from pepperpy.cli.index import choose_all

    return choose_all(args, names)


#: Install options that each lift a check (rollback, same version other bytes, a name
#: owned by another key): a decision about one bundle, never widened to several.
_OVERRIDES = ("--allow-downgrade", "--force", "--transfer-owner")


def _install_one(args: argparse.Namespace) -> int:
    if not _is_bundle_path(args.target):
        from pepperpy.cli.index import install_by_name

        return install_by_name(args)
    from pepperpy.plugins.install import install_bundle

    settings = load_settings()
    result = install_bundle(Path(args.target), settings=settings,
                            allow_downgrade=args.allow_downgrade, force=args.force,
                            transfer_owner=args.transfer_owner)
    _report(args, settings, result)
    return 0


def _is_bundle_path(target: str) -> bool:
    """A path to a bundle file (today's install) rather than a name from an index:
    names never end in .pepperplugin nor contain a path separator."""
    return target.endswith(".pepperplugin") or "/" in target or "\\" in target


def cmd_list(args: argparse.Namespace) -> int:
    """List every bundle found, where, its state and the command that fixes it.

    Lists PEPPERPY_HOME/plugins, and in development mode (PEPPERPY_DEV=1) each
    PEPPERPY_PLUGIN_PATH folder, then the checkout's dist_plugins/; each row says its
    source and whether a load of its provider uses it. Each bundle is fully verified (one
    whose file is unchanged since its last check under the same trust store is not read
    again); no plugin code runs.

    example: pepperpy plugin list --json
    """
    from pepperpy.core import PepperpyError

    rows = _diagnose()
    settings = load_settings()
    yanked: dict[str, Any] = {}
    if (settings.home / "indexes" / "indexes.json").exists():  # else no index to ask
        from pepperpy.distribution.fetch import yanked_installed

        try:
            yanked = yanked_installed(settings)
        except PepperpyError:  # a broken index store never hides the bundles themselves
            yanked = {}
    if args.json:
        print(json.dumps([{**r.as_dict(), "yanked": _yank(r, yanked)} for r in rows],
                         indent=2))
        return 0
    if not rows:
        print("no plugin bundles found (install one with `pepperpy plugin install FILE`)")
    for r in rows:
        label = f"{r.category}/{r.provider_name}" if r.category else "?"
        used = "used" if r.used else "not used"
        print(printable(f"{r.state:<21} {r.name or '?'} {r.version or '?'} [{label}] "
                        f"({r.source}, {used}) {r.path}"))
        if r.fix:
            print(f"{'':<21} fix: {printable(r.fix)}")
        pulled = _yank(r, yanked)
        if pulled:
            reason = f": {pulled['reason']}" if pulled["reason"] else ""
            print(printable(f"{'':<21} YANKED by index {pulled['index']}{reason}"))
            print(f"{'':<21} fix: {printable(pulled['fix'])}")
    return 0


def _yank(row: Any, yanked: dict[str, Any]) -> dict[str, str] | None:
    """The yank of an installed row's version (from the indexes' last refresh), or None."""
    found = yanked.get(row.name or "") if row.source == "installed" else None
    if found is None or found.installed != row.version:
        return None
    return {"index": found.index, "reason": found.yanked_reason, "fix": found.fix}


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check every bundle and explain each problem with its fix; exit 1 if any.

    Also lists what an interrupted command left behind (an install cut short by a crash,
    temporary files, spool downloads); --fix finishes or undoes those installs and
    removes the rest (the next install, update or index command does so too).

    example: pepperpy plugin doctor
    example: pepperpy plugin doctor --fix
    """
    from pepperpy.plugins import leftovers

    settings = load_settings()
    fixed = leftovers.clean(settings) if args.fix else []
    left = leftovers.find(settings)
    rows = _diagnose()
    if args.json:
        print(json.dumps([r.as_dict() for r in rows] + [
            {"path": x.path, "state": "leftover", "detail": x.what,
             "fix": "pepperpy plugin doctor --fix"} for x in left], indent=2))
    else:
        for x in fixed:
            print(f"[fixed] {printable(x.path)}: {printable(x.what)}")
        for x in left:
            print(f"[leftover] {printable(x.path)}: {printable(x.what)}")
            print("    fix: pepperpy plugin doctor --fix")
        for r in rows:
            print(f"[{r.state}] {printable(r.path)}")
            print(f"    {r.name or '?'} {r.version or '?'}: {printable(r.detail)}")
            if r.fix:
                print(f"    fix: {printable(r.fix)}")
        bad = sum(r.state != "ok" for r in rows)
        print(f"{len(rows)} bundle(s), {bad} with problems"
              + (f", {len(left)} leftover(s) of interrupted commands" if left else ""))
    return 1 if left or any(r.state != "ok" for r in rows) else 0


def _dev_mode_note(settings: Any) -> None:
    """Say when searched folders are set but not searched (development mode is off)."""
    if settings.plugin_path and not settings.dev_mode:
        print("note: PEPPERPY_PLUGIN_PATH is set but development mode is off, so its "
              "folders are not searched; installed plugins are the only candidates (set "
              "PEPPERPY_DEV=1 to search them)", file=sys.stderr)


def _diagnose() -> list[Any]:
    from pepperpy.plugins.doctor import diagnose
    from pepperpy.plugins.manager import PluginManager

    settings = load_settings()
    _dev_mode_note(settings)
    return diagnose(PluginManager(settings))


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove an installed plugin (its file and its install record).

    The name's ownership is released with it. Dependencies stay installed.

    example: pepperpy plugin remove openai
    """
    from pepperpy.cli.names import installed_name
    from pepperpy.plugins.install import remove_plugin

    settings = load_settings()
    record = remove_plugin(installed_name(args.name, settings, removing=True),
                           settings=settings)
    print(f"removed {record.name} {record.version}")
    _note_kept_dependencies(settings, record.name)
    return 0


def _note_kept_dependencies(settings: Any, name: str) -> None:
    """Say that a removed plugin's packages stay in this Python (PepperPy never
    uninstalls: another plugin or the application may import them)."""
    from pepperpy.core import PepperpyError
    from pepperpy.plugins.deprecord import load_record, record_path

    try:
        lines = load_record(record_path(settings)).get(name)
    except PepperpyError:  # a damaged record is `plugin deps`'s to report, not remove's
        return
    if lines:
        kept = printable(", ".join(lines))
        print(f"  its dependencies stay installed in this Python ({kept}); uninstall them "
              "with `uv pip uninstall` if nothing else uses them")


def cmd_deps(args: argparse.Namespace) -> int:
    """Install the dependencies of verified plugins now (for production images).

    With no NAME, every installed plugin. Runs uv with PepperPy's sealed settings
    (PEPPERPY_INDEX_URL, PEPPERPY_FIND_LINKS, PEPPERPY_NO_INDEX), so later loads with
    PEPPERPY_AUTO_INSTALL=0 start no subprocess.

    example: pepperpy plugin deps anthropic llm_openai_provider
    """
    from pepperpy.cli.names import installed_name
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.plugins.state import load_state

    settings = load_settings()
    manager = PluginManager(settings, auto_install=True, progress=progress)
    names = [installed_name(n, settings) for n in args.names] or sorted(
        load_state(settings.state_file).plugins)
    for name in names:
        manager.install_dependencies(manager.installed(name))  # NAME's own installed bundle
        print(f"{name}: dependencies satisfied")
    return 0
