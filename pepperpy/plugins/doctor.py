"""Per-bundle health for ``pepperpy plugin list`` and ``pepperpy plugin doctor``.

Invariant: diagnosing runs the same checks as loading (full verification, install
record, ownership, compatibility, an in-process dependency check) but never imports
plugin code and never starts uv. One broken bundle yields one row; it never stops the
others from being diagnosed.

States: ``ok``, ``untrusted``, ``invalid`` (malformed or tampered: signature or
structure), ``tampered`` (installed copy differs from its install record), ``revoked``,
``rollback`` (older than, or the same version with other bytes as, the installed version
recorded for its name), ``not-owner`` (another key owns the name), ``incompatible``
(PepperPy or Python version),
``missing-dependencies``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pepperpy.core import (
    BundleInvalidError,
    PepperpyError,
    PluginLoadError,
    RevokedError,
    UntrustedPublisherError,
)
from pepperpy.plugins.dependencies import find_unsatisfied
from pepperpy.plugins.discovery import Found
from pepperpy.plugins.manager import PluginManager, dependency_spec
from pepperpy.plugins.state import load_state
from pepperpy.plugins.verification import trust_snapshot

__all__ = ["BundleStatus", "diagnose"]


@dataclass(frozen=True)
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(manager: PluginManager) -> list[BundleStatus]:
    """A row for every bundle the manager discovers, in search order."""
    snapshot = trust_snapshot(manager.settings)
    found = manager.discover(refresh=True)
    with manager.install_read_lock():
        state = load_state(manager.settings.state_file)
        rows = [_row(manager, f, state=state, snapshot=snapshot) for f in found]
    return _mark_shadowed(rows)


def _row(manager: PluginManager, found: Found, *, state: Any, snapshot: Any) -> BundleStatus:
    base: dict[str, Any] = {"path": found.path, "source": found.source, "name": found.name,
            "version": found.version, "category": found.category,
            "provider_name": found.provider_name}
    if found.problem:
        return BundleStatus(**base, state="invalid", detail=found.problem,
                            fix=_fix_invalid(found))
    try:
        verified = manager.check(found, state=state, snapshot=snapshot)
    except PepperpyError as exc:
        label, fix = _classify(exc, found)
        return BundleStatus(**base, state=label, detail=str(exc), fix=fix,
                            key_id=getattr(exc, "key_id", None))
    spec = dependency_spec(verified.manifest)
    missing = find_unsatisfied(spec.requirements, lock=spec.lock)
    if missing:
        return BundleStatus(**base, state="missing-dependencies",
                            detail="needs " + ", ".join(u.describe() for u in missing),
                            fix=f"pepperpy plugin deps {verified.manifest.name}",
                            key_id=verified.key_id)
    return BundleStatus(**base, state="ok", detail=f"signed by {verified.publisher}",
                        fix="", key_id=verified.key_id)


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
    if isinstance(exc, UntrustedPublisherError):
        return "untrusted", "pepperpy trust add PUBFILE (the publisher's .pub for key " \
                            f"{(getattr(exc, 'key_id', None) or '?')[:16]}), if you trust it"
    if isinstance(exc, RevokedError):
        return "revoked", _remove_fix(found)
    if isinstance(exc, PluginLoadError):
        return "incompatible", "install a plugin version made for this PepperPy/Python"
    if isinstance(exc, BundleInvalidError):
        return "invalid", _fix_invalid(found)
    return "invalid", _fix_invalid(found)


def _remove_fix(found: Found) -> str:
    if found.source == "installed" and found.name:
        return f"pepperpy plugin remove {found.name}"
    return f"delete {found.path}"


def _fix_invalid(found: Found) -> str:
    return f"{_remove_fix(found)}; get an intact copy from the publisher"


def _mark_shadowed(rows: list[BundleStatus]) -> list[BundleStatus]:
    """Say which healthy bundles lose a provider conflict (same rule as loading)."""
    from dataclasses import replace

    from packaging.version import Version

    best: dict[tuple[Any, Any], tuple[Any, int]] = {}
    for i, row in enumerate(rows):
        if row.state in {"ok", "missing-dependencies"} and row.version:
            key = (row.category, row.provider_name)
            rank = (Version(row.version), -i)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, i)
    out = []
    for i, row in enumerate(rows):
        key = (row.category, row.provider_name)
        if key in best and best[key][1] != i and row.state in {"ok", "missing-dependencies"}:
            winner = rows[best[key][1]]
            row = replace(row, detail=f"{row.detail}; not used: {winner.path} wins "
                                      "(higher version or earlier folder)")
        out.append(row)
    return out
