"""May a verified bundle be used here? Every rule once, decided per provider slot. No I/O.

Authenticity ("signed by a trusted, unrevoked key, and the bytes are the signed bytes")
is decided first, in ``authentic.py``. This module decides the rest, and every caller
(load, install, list, doctor) asks it. Inputs are values (the verified manifest and
digest, where the bundle was found, the install state, the key's trust entries, the
running versions); nothing here reads files, the environment or the clock, and nothing
it imports does (``tests/trust/test_kernel_shape.py``).

The unit is the provider slot ``category/provider_name``: an installed plugin owns its
name and its slot. Rules, each a function:

1. ``signer_allowed``: a key trusted ``--only`` for some plugins signs only those, each
   in its slot: ``name@category/provider`` pins the slot; a plain ``name`` means the slot
   ``name`` is installed in (``trust add --only`` entries are pinned at first install),
   and never a slot installed under another name.
2. ``compatible``: ``pepperpy_compatibility`` admits this PepperPy, ``python_requires``
   this Python.
3. ``matches_record``: a bundle in the install folder is the digest its record names.
4. ``no_rollback``: a bundle from anywhere else never stands in for its slot's installed
   plugin: not another name (fallback never leaves the installed plugin), not an older
   version, not the same version with other bytes.
5. ``owner``: a key never takes a name or a slot that another key's installed plugin
   owns, unless the operator scoped it to that plugin (``trust add --scope NAME``).
6. ``not_yanked``: a version an index withdrew is never used.
7. ``rank``: among usable bundles of one slot, the highest version first, then the
   earlier search folder.

A refusal is an ``InstallRefusedError`` (``PluginLoadError`` for rule 2) whose
``state`` names the rule, so ``doctor`` and ``list`` can label it.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from typing import TypeVar

from pepperpy._versions import admits
from pepperpy.core import InstallRefusedError, PluginLoadError
from pepperpy.trust.types import Candidate, InstallRecord, InstallState, PluginManifest

__all__ = ["Candidate", "compatible", "matches_record", "no_rollback", "not_yanked", "owner",
           "rank", "signer_allowed", "slot_holder", "usable_here"]

T = TypeVar("T")


def refusal(message: str, *, plugin: str, state: str) -> InstallRefusedError:
    error = InstallRefusedError(message, plugin=plugin)
    error.state = state  # type: ignore[attr-defined]
    return error


def slot_holder(m: PluginManifest, state: InstallState) -> InstallRecord | None:
    """The installed plugin that owns ``m``'s provider slot, if any."""
    return state.owner_of_provider(m.category, m.provider_name)


def signer_allowed(c: Candidate, only: Collection[str] | None, state: InstallState) -> None:
    """Rule 1: a restricted key signs only the plugins it is trusted for, in their slot."""
    m = c.manifest
    if only is None or f"{m.name}@{m.slot}" in only:
        return
    named, holder = state.plugins.get(m.name), slot_holder(m, state)
    if m.name in only and (named is None or (named.category, named.provider_name) == (
            m.category, m.provider_name)) and (holder is None or holder.name == m.name):
        return
    raise refusal(
        f"{c.path}: {m.name!r} ({m.slot}) is signed by key {c.key_id[:12]}, which is trusted "
        f"only for {', '.join(sorted(only)) or 'no plugin'}, and not for this name in this "
        f"provider slot; if this publisher may offer it, run `pepperpy trust add PUBFILE "
        f"--only {m.name}@{m.slot}`", plugin=m.name, state="not-allowed")


def compatible(manifest: PluginManifest, *, path: str, pepperpy_version: str,
               python_version: str | None = None) -> None:
    """Rule 2: refuse a plugin built for another PepperPy or Python."""
    running = python_version or ".".join(map(str, sys.version_info[:3]))
    for what, spec, have in (("PepperPy", manifest.pepperpy_compatibility, pepperpy_version),
                             ("Python", manifest.python_requires, running)):
        if spec and not admits(spec, have):
            error = PluginLoadError(
                f"{path}: {manifest.name} {manifest.version} needs {what} {spec}, this is "
                f"{have}; install a matching plugin version or upgrade {what}",
                plugin=manifest.name)
            error.state = "incompatible"  # type: ignore[attr-defined]
            raise error


def matches_record(c: Candidate, state: InstallState) -> None:
    """Rule 3: the installed copy is exactly the recorded bytes."""
    if (record := state.plugins.get(c.manifest.name)) is None or record.digest != c.digest:
        raise refusal(
            f"{c.path}: the installed copy of {c.manifest.name!r} does not match its "
            "install record (replaced behind PepperPy's back, or a rollback); reinstall "
            "it with `pepperpy plugin install FILE`", plugin=c.manifest.name, state="tampered")


def no_rollback(c: Candidate, state: InstallState) -> None:
    """Rule 4: another folder's bundle never stands in for its slot's installed plugin."""
    from packaging.version import Version

    m = c.manifest
    holder = slot_holder(m, state)
    if holder is not None and holder.name != m.name:
        raise refusal(
            f"{c.path}: {m.name} {m.version} offers {m.slot}, which the installed "
            f"{holder.name} {holder.version} owns, so it is never used in its place (a "
            f"fallback never leaves the installed plugin); to switch on purpose run `pepperpy "
            f"plugin install {c.path} --transfer-owner`", plugin=m.name, state="rollback")
    record = state.plugins.get(m.name)
    if record is None or record.digest == c.digest or Version(m.version) > Version(record.version):
        return
    what = "is older than" if Version(m.version) < Version(record.version) else (
        f"(sha256 {c.digest[:16]}) has other bytes than")
    raise refusal(
        f"{c.path}: {m.name} {m.version} {what} the installed {record.version}, so it is not "
        f"used in its place (rollback protection). If the installed copy is missing or "
        f"damaged, reinstall {m.name} with `pepperpy plugin install FILE`; to switch to this "
        f"bundle on purpose run `pepperpy plugin install {c.path} --allow-downgrade` (or "
        "`--force` for the same version)", plugin=m.name, state="rollback")


def owner(c: Candidate, state: InstallState, scopes: Collection[str]) -> None:
    """Rule 5: a key uses only names and provider slots it owns (or is scoped to)."""
    m = c.manifest
    for holder in (state.plugins.get(m.name), slot_holder(m, state)):
        if holder is None or holder.key_id == c.key_id or holder.name in scopes:
            continue
        raise refusal(
            f"{c.path}: {m.name!r} ({m.slot}) is signed by key {c.key_id[:12]} but the "
            f"installed {holder.name!r} {holder.version} owns that name/provider (key "
            f"{holder.key_id[:12]}); another publisher cannot take it over. To move it run "
            f"`pepperpy plugin install {c.path} --transfer-owner`, or trust the new key for "
            f"it with `pepperpy trust add PUBFILE --scope {holder.name}`",
            plugin=m.name, state="not-owner")


def not_yanked(c: Candidate) -> None:
    """Rule 6: a version an index withdrew (``repo yank``) is never used."""
    if c.yanked:
        raise refusal(
            f"{c.path}: {c.manifest.name} {c.manifest.version} was withdrawn (yanked) by its "
            "index; delete the file and install another version", plugin=c.manifest.name,
            state="yanked")


def usable_here(c: Candidate, state: InstallState, *, scopes: Collection[str],
                pepperpy_version: str, only: Collection[str] | None = None) -> None:
    """Every rule in order, for loading, listing and ``doctor`` alike."""
    signer_allowed(c, only, state)
    if c.source == "installed":
        matches_record(c, state)
    else:
        no_rollback(c, state)
        not_yanked(c)
    owner(c, state, scopes)
    compatible(c.manifest, path=c.path, pepperpy_version=pepperpy_version)


def rank(pairs: Sequence[tuple[str, T]]) -> list[T]:
    """Rule 7: items (given with their version, in search order) best first."""
    if len(pairs) < 2:  # the usual case: nothing to compare, no version parser to import
        return [item for _version, item in pairs]
    from packaging.version import Version

    order = sorted(range(len(pairs)), key=lambda i: (Version(pairs[i][0]), -i), reverse=True)
    return [pairs[i][1] for i in order]
