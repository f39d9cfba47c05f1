"""May a verified bundle be used here? Every rule once, no I/O.

Authenticity ("signed by a trusted, unrevoked key, and the bytes are the signed bytes")
is decided first, in ``authentic.py``. This module decides the rest, and every
caller (load, install, list, doctor) asks it; nothing else in PepperPy makes these
decisions. Inputs are values (the verified manifest and digest, where the bundle was
found, the install state, the key's trust scopes, the running versions); nothing here
reads files, the environment or the clock, and nothing it imports does
(``tests/trust/test_kernel_shape.py`` checks it).

Rules, each a function:

1. ``compatible``: ``pepperpy_compatibility`` admits this PepperPy and ``python_requires``
   this Python.
2. ``matches_record``: a bundle in the install folder is the digest its install record
   names (otherwise it was replaced behind PepperPy's back: "tampered").
3. ``no_rollback``: from any other folder, a bundle whose name is installed is not older
   than the record and not the same version with other bytes ("rollback").
4. ``owner``: a key never takes a name or a provider slot that another key's installed
   plugin owns, unless the operator scoped it to that plugin ("not-owner").
5. ``install_action``: for ``plugin install``: rule 4 (``--transfer-owner`` overrides),
   then no older version (``--allow-downgrade``) and no same version with other bytes
   (``--force``); returns what the install does.
6. ``rank``: among usable bundles of one provider, the highest version first, then the
   earlier search folder.

A refusal is an ``InstallRefusedError`` (or ``PluginLoadError`` for rule 1) whose
``state`` names the rule, so ``doctor`` and ``list`` can label it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Sequence
from typing import TypeVar

from pepperpy.core import InstallRefusedError, PluginLoadError
from pepperpy.trust.types import Candidate, InstallRecord, InstallState, PluginManifest

__all__ = [
    "Candidate",
    "compatible",
    "install_action",
    "matches_record",
    "no_rollback",
    "owner",
    "rank",
    "signer_allowed",
    "usable_here",
]

T = TypeVar("T")


def refusal(message: str, *, plugin: str, state: str) -> InstallRefusedError:
    error = InstallRefusedError(message, plugin=plugin)
    error.state = state  # type: ignore[attr-defined]
    return error


def compatible(manifest: PluginManifest, *, path: str, pepperpy_version: str,
               python_version: str | None = None) -> None:
    """Rule 1: refuse a plugin built for another PepperPy or Python."""
    if manifest.pepperpy_compatibility and not _admits(
            manifest.pepperpy_compatibility, pepperpy_version):
        raise _incompatible(
            f"{path}: {manifest.name} {manifest.version} needs PepperPy "
            f"{manifest.pepperpy_compatibility}, this is {pepperpy_version}; install a "
            "matching plugin version or upgrade PepperPy", manifest.name)
    running = python_version or ".".join(map(str, sys.version_info[:3]))
    if manifest.python_requires and not _admits(manifest.python_requires, running):
        raise _incompatible(
            f"{path}: {manifest.name} {manifest.version} needs Python "
            f"{manifest.python_requires}, this is {running}", manifest.name)


_SIMPLE_CLAUSE = re.compile(r"\s*(>=|<=|>|<|==|!=)\s*([0-9]+(?:\.[0-9]+)*)\s*\Z")
_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*\Z")


def _admits(specifiers: str, version: str) -> bool:
    """PEP 440 ``SpecifierSet(specifiers).contains(version, prereleases=True)``.

    Clauses of plain release numbers (``>=0.1,<0.2``: what compatibility ranges are)
    are compared here as zero-padded tuples, which is exactly PEP 440 for release-only
    versions on both sides; anything else goes to ``packaging``. Importing
    ``packaging.specifiers`` costs more than the rest of loading a cached plugin.
    """
    clauses = [_SIMPLE_CLAUSE.match(c) for c in specifiers.split(",")]
    if not _RELEASE.match(version) or not all(clauses):
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(specifiers).contains(version, prereleases=True)
    have = _release(version)
    for clause in clauses:
        op, want = clause.group(1), _release(clause.group(2))  # type: ignore[union-attr]
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if not {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b,
                "!=": a != b}[op]:
            return False
    return True


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _incompatible(message: str, plugin: str) -> PluginLoadError:
    error = PluginLoadError(message, plugin=plugin)
    error.state = "incompatible"  # type: ignore[attr-defined]
    return error


def matches_record(c: Candidate, state: InstallState) -> None:
    """Rule 2: the installed copy is exactly the recorded bytes."""
    record = state.plugins.get(c.manifest.name)
    if record is None or record.digest != c.digest:
        raise refusal(
            f"{c.path}: the installed copy of {c.manifest.name!r} does not match its "
            "install record (replaced behind PepperPy's back, or a rollback); reinstall "
            "it with `pepperpy plugin install FILE`", plugin=c.manifest.name, state="tampered")


def no_rollback(c: Candidate, state: InstallState) -> None:
    """Rule 3: another folder's bundle never stands in for a newer or other installed one."""
    from packaging.version import Version

    record = state.plugins.get(c.manifest.name)
    if record is None or record.digest == c.digest:
        return
    version, installed = Version(c.manifest.version), Version(record.version)
    if version > installed:
        return
    what = "is older than" if version < installed else (
        f"(sha256 {c.digest[:16]}) has other bytes than")
    raise refusal(
        f"{c.path}: {c.manifest.name} {c.manifest.version} {what} the installed "
        f"{record.version} recorded in the install state, so it is not used in its place "
        f"(rollback protection). If the installed copy is missing or damaged, reinstall "
        f"{c.manifest.name} with `pepperpy plugin install FILE`; to switch to this bundle on "
        f"purpose run `pepperpy plugin install {c.path} --allow-downgrade` (or `--force` "
        "for the same version)", plugin=c.manifest.name, state="rollback")


def owner(c: Candidate, state: InstallState, scopes: Collection[str]) -> None:
    """Rule 4: a key uses only names and provider slots it owns (or is scoped to)."""
    m = c.manifest
    holder = state.owner_conflict(name=m.name, category=m.category,
                                  provider_name=m.provider_name, key_id=c.key_id,
                                  may_take_over=scopes)
    if holder is None:
        return
    raise refusal(
        f"{c.path}: {m.name!r} ({m.category}/{m.provider_name}) is signed by key "
        f"{c.key_id[:12]} but the installed {holder.name!r} {holder.version} owns that "
        f"name/provider (key {holder.key_id[:12]}); another publisher cannot take it over. "
        f"To move it run `pepperpy plugin install {c.path} --transfer-owner`, or trust the "
        f"new key for it with `pepperpy trust add PUBFILE --scope {holder.name}`",
        plugin=m.name, state="not-owner")


def signer_allowed(c: Candidate, only: Collection[str] | None) -> None:
    """Rule 8: a key restricted to some plugins signs only those. An entry is a plugin
    name, or ``name@category/provider`` (what an index listed), which also pins the
    provider slot the plugin may offer, so a restricted key cannot take another
    plugin's provider under a name it was trusted for."""
    m = c.manifest
    if only is None or m.name in only or f"{m.name}@{m.category}/{m.provider_name}" in only:
        return
    raise refusal(
        f"{c.path}: {c.manifest.name!r} ({c.manifest.category}/{c.manifest.provider_name}) "
        f"is signed by key {c.key_id[:12]}, which is trusted only for "
        f"{', '.join(sorted(only)) or 'no plugin'}; if this publisher may sign "
        f"{c.manifest.name!r} too, run `pepperpy trust add PUBFILE --only {c.manifest.name}`",
        plugin=c.manifest.name, state="not-allowed")


def usable_here(c: Candidate, state: InstallState, *, scopes: Collection[str],
                pepperpy_version: str, only: Collection[str] | None = None) -> None:
    """Rules 8 and 1-4 in order, for loading, listing and ``doctor`` alike."""
    signer_allowed(c, only)
    if c.source == "installed":
        matches_record(c, state)
    else:
        no_rollback(c, state)
    owner(c, state, scopes)
    compatible(c.manifest, path=c.path, pepperpy_version=pepperpy_version)


def install_action(
    c: Candidate, previous: InstallRecord | None, state: InstallState, *,
    scopes: Collection[str], pepperpy_version: str, allow_downgrade: bool = False,
    force: bool = False, transfer_owner: bool = False, only: Collection[str] | None = None,
) -> str:
    """Rule 5: ``"installed"``, ``"unchanged"``, ``"upgraded"``, ``"downgraded"`` or
    ``"replaced"`` (forced same version); refuses what the flags do not allow."""
    from packaging.version import Version

    signer_allowed(c, only)
    compatible(c.manifest, path=c.path, pepperpy_version=pepperpy_version)
    if not transfer_owner:
        owner(c, state, scopes)
    if previous is None:
        return "installed"
    if previous.digest == c.digest:
        return "unchanged"
    name, new_v, old_v = c.manifest.name, Version(c.manifest.version), Version(previous.version)
    if new_v < old_v and not allow_downgrade:
        raise refusal(
            f"plugin {name!r}: version {c.manifest.version} is older than the installed "
            f"{previous.version} (rollback protection); to go back on purpose run the same "
            "`pepperpy plugin install` again with --allow-downgrade", plugin=name,
            state="rollback")
    if new_v == old_v and not force:
        raise refusal(
            f"plugin {name!r} {c.manifest.version} is already installed with other bytes "
            f"(installed sha256 {previous.digest[:16]}, this file {c.digest[:16]}); a version "
            "must not change content: ask the publisher for a new version, or run "
            "`pepperpy plugin install FILE --force` if you know why", plugin=name,
            state="rollback")
    if new_v == old_v:
        return "replaced"
    return "upgraded" if new_v > old_v else "downgraded"


def rank(pairs: Sequence[tuple[str, T]]) -> list[T]:
    """Rule 6: items (given with their version, in search order) best first."""
    if len(pairs) < 2:  # the usual case: nothing to compare, no version parser to import
        return [item for _version, item in pairs]
    from packaging.version import Version

    order = sorted(range(len(pairs)), key=lambda i: (Version(pairs[i][0]), -i), reverse=True)
    return [pairs[i][1] for i in order]
