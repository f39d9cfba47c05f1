"""Per-bundle health for ``pepperpy plugin list`` and ``pepperpy plugin doctor``.

Invariant: diagnosing runs the same checks as loading (full verification, install
record, ownership, compatibility, an in-process dependency check) but never imports
plugin code and never starts uv. One broken bundle yields one row; it never stops the
others from being diagnosed.

States: ``ok``, ``untrusted``, ``invalid`` (malformed or tampered: signature or
structure), ``tampered`` (installed copy differs from its install record), ``revoked``,
``rollback`` (older than, or the same version with other bytes as, the installed version
recorded for its name), ``not-owner`` (another key owns the name), ``not-allowed`` (its
key is trusted for other plugin names only), ``incompatible``
(PepperPy or Python version),
``missing-dependencies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pepperpy._record import record
from pepperpy._version import __version__
from pepperpy.core import (
    PepperpyError,
    PluginLoadError,
    RevokedError,
    UntrustedPublisherError,
)
from pepperpy.plugins.dependencies import find_unsatisfied
from pepperpy.plugins.discovery import Found
from pepperpy.plugins.manager import PluginManager, dependency_spec
from pepperpy.plugins.state import InstallState, load_state, read_again_if_installed, settled_for
from pepperpy.trust import admissible as policy
from pepperpy.trust.gate import Trust, from_cache
from pepperpy.trust.types import PluginManifest

__all__ = ["BundleStatus", "diagnose"]


@record  # not @dataclass: `plugin list` then imports neither dataclasses nor inspect
class BundleStatus:
    """One bundle found, its state, why, and the command that fixes it."""

    path: str
    source: str
    name: str | None
    version: str | None
    category: str | None
    provider_name: str | None
    state: str
    detail: str
    fix: str
    key_id: str | None = None
    used: bool = False  # the bundle a load of its provider would use

    def as_dict(self) -> dict[str, Any]:
        """The fields in order (``dataclasses.asdict``'s answer: the values are plain)."""
        return {name: getattr(self, name) for name in BundleStatus.__annotations__}

    def but(self, **changes: Any) -> BundleStatus:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return BundleStatus(**{**self.as_dict(), **changes})


@read_again_if_installed
def diagnose(manager: PluginManager) -> list[BundleStatus]:
    """A row for every bundle the manager discovers, in search order."""
    trust = manager.trust()
    found = manager.discover(refresh=True)
    with manager.install_read_lock():
        state = load_state(manager.settings.state_file)
        unmet = _Unmet()
        rows = [_row(manager, f, state=state, trust=trust, unmet=unmet) for f in found]
    trust.cache.flush()
    return _mark_shadowed(rows)


class _Unmet:
    """``find_unsatisfied`` answered once per requirement set for one listing: nothing
    is installed while it runs, and a thousand bundles often share their requirements."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], list[Any]] = {}

    def __call__(self, requirements: Sequence[str], lock: Sequence[Any]) -> list[Any]:
        key = (tuple(requirements), tuple(lock))
        if key not in self._seen:
            self._seen[key] = find_unsatisfied(requirements, lock=lock)
        return self._seen[key]


def _row(manager: PluginManager, found: Found, *, state: InstallState, trust: Trust,
         unmet: _Unmet) -> BundleStatus:
    base: dict[str, Any] = {"path": found.path, "source": found.source, "name": found.name,
            "version": found.version, "category": found.category,
            "provider_name": found.provider_name, "key_id": found.key_id}
    if found.problem:
        label = _REFUSALS.get(found.refusal or "", "invalid")
        return BundleStatus(**base, state=label, detail=found.problem,
                            fix=_fix_for(label, found, _recorded_name(found, state)))
    try:
        manifest, publisher = _check(manager, found, state=state, trust=trust)
    except PepperpyError as exc:
        label, fix = _classify(exc, found)
        return BundleStatus(**base, state=label, detail=str(exc), fix=fix)
    spec = dependency_spec(manifest)
    missing = unmet(spec.requirements, spec.lock)
    if missing:
        return BundleStatus(**base, state="missing-dependencies",
                            detail="needs " + ", ".join(u.describe() for u in missing),
                            fix=f"pepperpy plugin deps {manifest.name}")
    return BundleStatus(**base, state="ok", detail=f"signed by {publisher}", fix="")


def _check(manager: PluginManager, found: Found, *, state: InstallState, trust: Trust
           ) -> tuple[PluginManifest, str]:
    """``manager.check`` for a listing: the manifest and publisher, after the policy.

    Discovery has just seen this file with the identity (size, times, inode, device) it
    had when it was verified, under this trust fingerprint (its index is keyed on both),
    and the verified cache holds that verification under the same digest and
    fingerprint: then the file is not read and hashed again. Anything else (a miss, a
    changed trust store, a damaged entry) is the full check from a fresh read. Loading
    always reads and checks the bytes it imports.
    """
    hit = trust.cache.get(found.digest) if found.digest else None
    if hit is not None and (hit["trust"], hit["key_id"]) != (trust.fingerprint, found.key_id):
        hit = None  # verified under another trust store, or by another key
    manifest = from_cache(hit["manifest"]) if hit is not None else None
    if hit is None or manifest is None or (manifest.name, manifest.category,
                                           manifest.provider_name) != (
            found.name, found.category, found.provider_name):
        chosen = manager.check(found, state=state, trust=trust)
        return chosen.manifest, chosen.verified.publisher
    yanked = found.source != "installed" and found.digest in manager.withdrawn()
    candidate = policy.Candidate(manifest, str(found.digest), hit["key_id"], found.path,
                                 found.source, yanked)
    state = settled_for(state, manifest.name, str(found.digest))  # an install in progress
    policy.usable_here(candidate, state, scopes=trust.scopes(hit["key_id"]),
                       pepperpy_version=__version__, only=trust.only(hit["key_id"]))
    return manifest, hit["publisher"]


_REFUSALS = {"UntrustedPublisherError": "untrusted", "RevokedError": "revoked"}


def _recorded_name(found: Found, state: InstallState) -> str | None:
    """The name an installed file was recorded under: a refused bundle's manifest is
    never read, but ``plugin remove`` (not deleting the file) is what releases it."""
    if found.name or found.source != "installed":
        return found.name
    file = found.path.rsplit("/", 1)[-1]
    return next((rec.name for rec in state.plugins.values() if rec.file == file), None)


def _fix_for(label: str, found: Found, name: str | None = None) -> str:
    if label == "untrusted":
        return ("pepperpy trust add PUBFILE (the publisher's .pub for key "
                f"{(found.key_id or '?')[:16]}), if you trust it")
    if label == "revoked":
        return _remove_fix(found, name)
    return _fix_invalid(found, name)


def _classify(exc: PepperpyError, found: Found) -> tuple[str, str]:
    label = getattr(exc, "state", None)
    if label == "tampered":
        return label, f"pepperpy plugin remove {found.name}, then install the bundle again"
    if label == "rollback":
        return label, (f"reinstall the installed {found.name} with `pepperpy plugin install "
                       f"FILE` if its copy is missing or damaged; else delete {found.path}")
    if label == "not-owner":
        return label, (f"pepperpy plugin install {found.path} --transfer-owner, or "
                       f"pepperpy trust add PUBFILE --scope {found.name} (if intended)")
    if label == "not-allowed":
        return label, (f"pepperpy trust add PUBFILE --only {found.name}@{found.category}/"
                       f"{found.provider_name}, if this publisher may offer it; else delete "
                       "the file")
    if label == "yanked":
        return label, f"delete {found.path}; its index withdrew this version"
    if label == "incompatible" or isinstance(exc, PluginLoadError):
        return "incompatible", "install a plugin version made for this PepperPy/Python"
    if isinstance(exc, UntrustedPublisherError):
        return "untrusted", _fix_for("untrusted", found)
    if isinstance(exc, RevokedError):
        return "revoked", _remove_fix(found)
    return "invalid", _fix_invalid(found)


def _remove_fix(found: Found, name: str | None = None) -> str:
    name = name or found.name
    if found.source == "installed" and name:
        return f"pepperpy plugin remove {name}"
    return f"delete {found.path}"


def _fix_invalid(found: Found, name: str | None = None) -> str:
    return f"{_remove_fix(found, name)}; get an intact copy from the publisher"


def _mark_shadowed(rows: list[BundleStatus]) -> list[BundleStatus]:
    """Say which healthy bundle serves each provider, by the rules loading uses: the
    policy's ranking, and a bundle whose dependencies are missing falls through to the
    next usable one."""
    from pepperpy.trust import admissible as policy

    healthy = [(i, r) for i, r in enumerate(rows)
               if r.state in {"ok", "missing-dependencies"} and r.version is not None]
    by_provider: dict[tuple[Any, Any], list[tuple[str, int]]] = {}
    for i, row in healthy:
        by_provider.setdefault((row.category, row.provider_name), []).append(
            (str(row.version), i))
    out = list(rows)
    for ranked_pairs in by_provider.values():
        ranked = policy.rank(ranked_pairs)
        used = next((i for i in ranked if rows[i].state == "ok"), ranked[0])
        for i in ranked:
            if i == used:
                out[i] = rows[i].but(used=rows[i].state == "ok")
                continue
            row = rows[i]
            if ranked.index(i) < ranked.index(used):
                note = f"not used until this is fixed: {rows[used].path} serves the provider"
            else:
                note = f"not used: {rows[used].path} wins (higher version or earlier folder)"
            out[i] = row.but(detail=f"{row.detail}; {note}")
    return out
