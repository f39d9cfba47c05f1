"""Install and remove bundles in ``Settings.plugins_dir``.

Check order for ``install`` (python-tuf's shape: every check, then one atomic change):
authenticity (``verification.authenticate``: limits and structure, signature, key trusted
and not revoked, digest not revoked) -> ``policy.install_action`` (compatibility, name
ownership, no rollback, no same-version-other-bytes) -> copy atomically -> record
atomically. Everything after verify runs under the install lock
(``home/install.lock``), so concurrent installs serialise and the second one of the
same bundle is a no-op.

Invariants:
- Nothing is written unless every check passed; a refusal changes nothing.
- The installed file is ``plugins_dir/<name>.pepperplugin``, written from the verified
  bytes (not re-read from the source path), then the state record: a crash between the
  two leaves a file whose digest differs from the record, which loading refuses until
  the install is repeated.
- Ownership: the key that signed the installed version owns the name and its
  ``(category, provider_name)``; another key needs ``transfer_owner=True``, or a trust
  store scope naming the installed plugin (``pepperpy trust add PUBFILE --scope NAME``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from pepperpy._version import __version__
from pepperpy.bundle.trust import read_trust
from pepperpy.core import PluginNotFoundError
from pepperpy.plugins.locking import atomic_write, file_lock
from pepperpy.plugins.state import InstallRecord, InstallState, load_state, save_state
from pepperpy.settings import Settings
from pepperpy.trust import admissible as policy
from pepperpy.trust.gate import authenticate
from pepperpy.trust.types import VerifiedBundle

__all__ = ["InstallResult", "install_bundle", "installed_path", "remove_plugin"]


@dataclass(frozen=True)
class InstallResult:
    """What ``install_bundle`` did: ``"installed"``, ``"upgraded"``, ``"downgraded"``,
    ``"replaced"`` (forced same version) or ``"unchanged"``."""

    action: str
    record: InstallRecord
    previous: InstallRecord | None
    path: Path
    verified: VerifiedBundle  # for dependency installation


def installed_path(settings: Settings, name: str) -> Path:
    return settings.plugins_dir / f"{name}.pepperplugin"


def install_bundle(
    path: Path,
    *,
    settings: Settings,
    allow_downgrade: bool = False,
    force: bool = False,
    transfer_owner: bool = False,
    accept: Callable[[VerifiedBundle], None] | None = None,
) -> InstallResult:
    """Verify ``path`` fully, check policy, then copy and record it atomically.

    ``accept`` sees the verified bundle before the policy and before anything is
    written; raising refuses the install (an index checks that the bundle is the one it
    listed).
    """
    trust = read_trust(settings)
    verified = authenticate(Path(path), trust)
    trust.cache.flush()  # the first load after this install needs no verification
    if accept is not None:
        accept(verified)
    m = verified.manifest
    candidate = policy.Candidate(m, verified.digest, verified.key_id, str(path), "file")
    record = InstallRecord(
        name=m.name, version=m.version, digest=verified.digest, key_id=verified.key_id,
        category=m.category, provider_name=m.provider_name, file=f"{m.name}.pepperplugin",
    )
    with file_lock(settings.home / "install.lock"):
        state = load_state(settings.state_file)
        previous = state.plugins.get(m.name)
        action = policy.install_action(
            candidate, previous, state, scopes=trust.scopes(verified.key_id),
            pepperpy_version=__version__, allow_downgrade=allow_downgrade, force=force,
            transfer_owner=transfer_owner, only=trust.only(verified.key_id))
        target = installed_path(settings, m.name)
        if action == "unchanged" and _file_digest(target) == record.digest:
            return InstallResult("unchanged", record, previous, target, verified)
        settings.plugins_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(target, verified.data, mode=0o644)
        plugins = {n: r for n, r in state.plugins.items() if not _same_provider(r, record)}
        plugins[m.name] = record
        save_state(settings.state_file, InstallState(plugins))
        _remove_displaced(settings, state.plugins, record)
    return InstallResult(action, record, previous, target, verified)


def _same_provider(old: InstallRecord, new: InstallRecord) -> bool:
    """Records ``new`` displaces: its own name, or (after a transfer) its provider slot."""
    return old.name == new.name or (
        (old.category, old.provider_name) == (new.category, new.provider_name)
        and old.key_id != new.key_id
    )


def _remove_displaced(
    settings: Settings, old: Mapping[str, InstallRecord], new: InstallRecord
) -> None:
    for record in old.values():
        if record.name != new.name and _same_provider(record, new):
            installed_path(settings, record.name).unlink(missing_ok=True)


def _file_digest(path: Path) -> str | None:
    from pepperpy.core import PepperpyError
    from pepperpy.trust.gate import open_regular

    try:
        with open_regular(path) as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except (OSError, PepperpyError):
        return None


def remove_plugin(name: str, *, settings: Settings) -> InstallRecord:
    """Remove an installed plugin and its record (its name's ownership goes with it)."""
    with file_lock(settings.home / "install.lock"):
        state = load_state(settings.state_file)
        record = state.plugins.get(name)
        if record is None:
            installed = ", ".join(sorted(state.plugins)) or "none"
            raise PluginNotFoundError(
                f"no installed plugin named {name!r} (installed: {installed}); "
                "see `pepperpy plugin list`",
                plugin=name,
            )
        plugins = {n: r for n, r in state.plugins.items() if n != name}
        save_state(settings.state_file, replace(state, plugins=plugins))
        installed_path(settings, record.file.removesuffix(".pepperplugin")).unlink(
            missing_ok=True
        )
    return record
