"""Install and remove bundles in ``Settings.plugins_dir``.

Check order for ``install`` (python-tuf's shape: every check, then one atomic change):
authenticity (``verification.authenticate``: limits and structure, signature, key trusted
and not revoked, digest not revoked) -> ``policy.install_action`` (compatibility, name
ownership, no rollback, no same-version-other-bytes) -> copy atomically -> record
atomically. Everything after verify runs under the install lock
(``home/install.lock``), so concurrent installs serialise and the second one of the
same bundle is a no-op.

Invariants:
- Nothing is written unless every check passed; a refusal changes nothing (a bundle
  received by name sits in an unnamed file until then: ``plugins.incoming``).
- An install is one transaction, journaled in the state file (``state.Pending``):
  (1) the state records the install as pending, (2) the installed file
  ``plugins_dir/<name>.pepperplugin`` is replaced by the verified bytes (not re-read
  from the source path; by name: the verified, fsynced unnamed file is linked there),
  (3) the files of plugins it displaces (an ownership transfer) are removed, (4) the
  state records the new version and drops the pending entry. A crash at any point
  leaves the old bundle or the new one in place, and loading accepts either (the
  pending record names the new one), so the plugin keeps loading.
- The next command that takes the install lock (install, update, remove, ``plugin
  doctor --fix``) settles what a crash left (:func:`settle`): an install whose bundle
  is in place is completed, one whose bundle is not is rolled back, and temporary files
  in the plugin folder are removed. ``plugin doctor`` lists them until then.
- Ownership: the key that signed the installed version owns the name and its
  ``(category, provider_name)``; another key needs ``transfer_owner=True``, or a trust
  store scope naming the installed plugin (``pepperpy trust add PUBFILE --scope NAME``).
- One installed plugin per provider slot: a bundle of another name taking a slot replaces
  the plugin that held it, and from the same key it is judged against that plugin's
  version (an older release renamed is a rollback: ``--allow-downgrade``), so it never
  sits beside it as its fallback.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy._record import record
from pepperpy._version import __version__
from pepperpy.bundle.trust import TrustStore, read_trust
from pepperpy.core import InstallRefusedError, PepperpyError, PluginNotFoundError, StateError
from pepperpy.fsio import remove_file
from pepperpy.plugins.locking import atomic_write, file_lock
from pepperpy.plugins.state import (
    InstallRecord,
    InstallState,
    Pending,
    committed,
    install_leftovers,
    load_state,
    save_state,
)
from pepperpy.settings import Settings
from pepperpy.trust import admissible as policy
from pepperpy.trust.gate import Trust, Verified, authenticate, verify_bundle
from pepperpy.trust.types import VerifiedBundle

if TYPE_CHECKING:
    from pepperpy.plugins.incoming import Incoming

__all__ = ["InstallResult", "install_bundle", "install_bytes", "install_incoming",
           "install_leftovers", "installed_path", "remove_plugin", "settle", "settle_now"]

Accept = Callable[[VerifiedBundle | Verified], None]


@record
class InstallResult:
    """What ``install_bundle`` did: ``"installed"``, ``"upgraded"``, ``"downgraded"``,
    ``"replaced"`` (forced same version) or ``"unchanged"``."""

    action: str
    record: InstallRecord
    previous: InstallRecord | None
    path: Path
    verified: VerifiedBundle | Verified  # its manifest: for dependency installation


def installed_path(settings: Settings, name: str) -> Path:
    return settings.plugins_dir / f"{name}.pepperplugin"


def install_bundle(
    path: Path,
    *,
    settings: Settings,
    allow_downgrade: bool = False,
    force: bool = False,
    transfer_owner: bool = False,
    accept: Accept | None = None,
) -> InstallResult:
    """Verify ``path`` fully, check policy, then copy and record it atomically.

    ``accept`` sees the verified bundle before the policy and before anything is
    written; raising refuses the install (an index checks that the bundle is the one it
    listed).
    """
    trust = read_trust(settings)
    verified = authenticate(Path(path), trust)
    return _install(verified, trust, str(path), _writer(verified.data, settings),
                    settings=settings, allow_downgrade=allow_downgrade, force=force,
                    transfer_owner=transfer_owner, accept=accept)


def _writer(data: bytes, settings: Settings) -> Callable[[Path], None]:
    def put(target: Path) -> None:
        atomic_write(target, data, mode=0o644, root=settings.home)

    return put


def install_bytes(
    data: bytes,
    *,
    origin: str,
    settings: Settings,
    accept: Accept,
    allow_downgrade: bool = False,
    force: bool = False,
    transfer_owner: bool = False,
) -> InstallResult:
    """:func:`install_bundle` for a bundle already in memory (a download from an index,
    named ``origin`` in errors): the gate verifies these very bytes, nothing is spooled
    or read back, and the gate's one SHA-256 pass gives the digest ``accept`` compares
    with the index's signed hash before the policy runs and anything is written."""
    trust = read_trust(settings)
    verified = verify_bytes(data, origin, trust)
    return _install(verified, trust, origin, _writer(data, settings), settings=settings,
                    allow_downgrade=allow_downgrade, force=force,
                    transfer_owner=transfer_owner, accept=accept)


def install_incoming(
    incoming: Incoming,
    *,
    origin: str,
    settings: Settings,
    accept: Accept,
    allow_downgrade: bool = False,
    force: bool = False,
    transfer_owner: bool = False,
) -> InstallResult:
    """:func:`install_bytes` for a bundle received into an unnamed file in the plugin
    folder (``pepperpy.plugins.incoming``): the gate verifies that file in one streamed
    pass while it is fsynced, ``accept`` compares the gate's SHA-256 with the index's,
    then the policy, and only then is the file named (the transaction's step 2)."""
    trust = read_trust(settings)
    verified = verify_incoming(incoming, origin, trust)
    return _install(verified, trust, origin, incoming.name, settings=settings,
                    allow_downgrade=allow_downgrade, force=force,
                    transfer_owner=transfer_owner, accept=accept)


def verify_bytes(data: bytes, origin: str, trust: Trust) -> VerifiedBundle:
    """The gate's verdict on a bundle in memory, named ``origin`` in its errors."""
    try:
        verified = verify_bundle(data, trust.snapshot, path=origin)
    except PepperpyError as exc:  # named as the gate names a file it refuses
        if exc.args and origin not in str(exc.args[0]):
            exc.args = (f"{origin}: {exc.args[0]}", *exc.args[1:])
        raise
    trust.cache.remember(verified, trust.fingerprint)
    return verified


def verify_incoming(incoming: Incoming, origin: str, trust: Trust) -> Verified:
    """The gate's verdict on a received unnamed file, named ``origin`` in its errors."""
    from pepperpy.trust.gate import check

    try:
        return check(incoming.path, trust)
    except PepperpyError as exc:  # named as the gate names a file it refuses
        proc = str(incoming.path)
        if exc.args:
            text = str(exc.args[0]).replace(proc, origin)
            exc.args = (text if origin in text else f"{origin}: {text}", *exc.args[1:])
        if getattr(exc, "path", None) == proc:
            exc.path = origin  # type: ignore[attr-defined]
        raise


def _install(verified: VerifiedBundle | Verified, trust: Trust, origin: str,
             put: Callable[[Path], None], *, settings: Settings, allow_downgrade: bool,
             force: bool, transfer_owner: bool, accept: Accept | None) -> InstallResult:
    """Policy, then the transaction (``install_bundle``'s steps after verification)."""
    trust.cache.flush()  # the first load after this install needs no verification
    if accept is not None:
        accept(verified)
    m = verified.manifest
    with file_lock(settings.home / "install.lock"):
        state = settle(settings)
        previous = state.plugins.get(m.name)
        action, pending = _judge(verified, trust, origin, state, allow_downgrade=allow_downgrade,
                                 force=force, transfer_owner=transfer_owner)
        record = pending.record
        # a key trusted `--only NAME` is pinned to the slot NAME is first installed in
        TrustStore(settings.trust_file).pin(verified.key_id, m.name, m.slot)
        target = installed_path(settings, m.name)
        if action == "unchanged" and _file_digest(target) == record.digest:
            return InstallResult("unchanged", record, previous, target, verified)
        _transaction(settings, state, pending, put)
    return InstallResult(action, record, previous, target, verified)


def _judge(verified: VerifiedBundle | Verified, trust: Trust, origin: str,
           state: InstallState, *, allow_downgrade: bool, force: bool,
           transfer_owner: bool) -> tuple[str, Pending]:
    """The install policy for a verified bundle against ``state``: its action, and the
    install it would journal (the record, and the plugins it displaces). Writes nothing."""
    m = verified.manifest
    candidate = policy.Candidate(m, verified.digest, verified.key_id, origin, "file")
    record = InstallRecord(
        name=m.name, version=m.version, digest=verified.digest, key_id=verified.key_id,
        category=m.category, provider_name=m.provider_name, file=f"{m.name}.pepperplugin",
    )
    action = install_action(
        candidate, state.plugins.get(m.name), state, scopes=trust.scopes(verified.key_id),
        pepperpy_version=__version__, allow_downgrade=allow_downgrade, force=force,
        transfer_owner=transfer_owner, only=trust.only(verified.key_id))
    holder = state.owner_of_provider(m.category, m.provider_name)
    if holder is not None and holder.name != m.name and holder.key_id == record.key_id:
        # The slot is the unit: the same publisher's bundle of another name is judged
        # against the slot's plugin (no rollback through a rename) and replaces it
        # (one plugin per slot; another publisher needs --transfer-owner, above).
        install_action(
            candidate, holder, state, scopes=trust.scopes(verified.key_id),
            pepperpy_version=__version__, allow_downgrade=allow_downgrade, force=force,
            transfer_owner=transfer_owner, only=trust.only(verified.key_id))
        action = _slot_action(action, holder, record)
    displaces = tuple(sorted(r.name for r in state.plugins.values()
                             if r.name != m.name and _same_provider(r, record)))
    return action, Pending(record, displaces)


def install_action(
    c: policy.Candidate, previous: InstallRecord | None, state: InstallState, *,
    scopes: Collection[str], pepperpy_version: str, allow_downgrade: bool = False,
    force: bool = False, transfer_owner: bool = False, only: Collection[str] | None = None,
) -> str:
    """What ``plugin install`` does: ``"installed"``, ``"unchanged"``, ``"upgraded"``,
    ``"downgraded"`` or ``"replaced"`` (forced same version); the load rules (signer,
    compatibility, owner; ``--transfer-owner`` skips the last) first, then no older
    version (``--allow-downgrade``) and no same version with other bytes (``--force``)."""
    policy.signer_allowed(c, only, state)
    policy.compatible(c.manifest, path=c.path, pepperpy_version=pepperpy_version)
    if not transfer_owner:
        policy.owner(c, state, scopes)
    if previous is None:
        return "installed"
    if previous.digest == c.digest:
        return "unchanged"
    from packaging.version import Version

    name, new_v, old_v = c.manifest.name, Version(c.manifest.version), Version(previous.version)
    if new_v < old_v and not allow_downgrade:
        raise older_than_installed(name, c.manifest.version, previous.version)
    if new_v == old_v and not force:
        raise policy.refusal(
            f"plugin {name!r} {c.manifest.version} is already installed with other bytes "
            f"(installed sha256 {previous.digest[:16]}, this file {c.digest[:16]}); a version "
            "must not change content: ask the publisher for a new version, or run "
            "`pepperpy plugin install FILE --force` if you know why", plugin=name,
            state="rollback")
    if new_v == old_v:
        return "replaced"
    return "upgraded" if new_v > old_v else "downgraded"


def install_dependencies(result: InstallResult, *, settings: Settings,
                         progress: Callable[[str], None] | None) -> None:
    """Install an installed bundle's dependencies with uv (``plugin install``/``update``).

    The bundle stays installed when this fails: the error says so, and names both ways
    on (``plugin deps`` once the cause is fixed, or ``plugin remove``)."""
    from pepperpy.core import DependencyError
    from pepperpy.plugins.dependencies import ensure_dependencies
    from pepperpy.plugins.manager import dependency_spec

    try:
        ensure_dependencies(dependency_spec(result.verified.manifest), settings=settings,
                            auto_install=True, progress=progress)
    except DependencyError as exc:
        r = result.record
        raise DependencyError(
            f"the bundle is installed ({r.name} {r.version} -> {result.path}) but its "
            f"dependencies are not, so it will not load until they are: {exc}; or take "
            f"the bundle out again with `pepperpy plugin remove {r.name}`",
            plugin=r.name, command=exc.command) from exc


def older_than_installed(name: str, version: str, installed: str) -> InstallRefusedError:
    """The refusal of a version older than the installed one without --allow-downgrade."""
    return policy.refusal(
        f"plugin {name!r}: version {version} is older than the installed {installed} "
        "(rollback protection); to go back on purpose run the same `pepperpy plugin "
        "install` again with --allow-downgrade", plugin=name, state="rollback")


def _transaction(settings: Settings, state: InstallState, pending: Pending,
                 put: Callable[[Path], None]) -> None:
    """Steps 1-4 of the module docstring (caller holds the install lock); ``put``
    places the verified bytes at the installed path atomically."""
    name = pending.record.name
    journal = InstallState(state.plugins, {**state.pending, name: pending})
    save_state(settings.state_file, journal)
    try:
        put(installed_path(settings, name))
    except StateError:  # a full disk, say: the old bundle is untouched, so is its record
        with contextlib.suppress(StateError):
            save_state(settings.state_file, state)  # else the next command rolls back
        raise
    _finish(settings, committed(journal, name), name)


def _finish(settings: Settings, state: InstallState, name: str) -> InstallState:
    """Steps 3 and 4: remove the displaced plugins' files (the pending record already
    stands in for them), then record the install and drop its journal entry."""
    for other in state.pending[name].displaces:
        if other not in state.plugins:
            remove_file(installed_path(settings, other))
    done = InstallState(state.plugins, {n: p for n, p in state.pending.items() if n != name})
    save_state(settings.state_file, done)
    return done


def settle(settings: Settings) -> InstallState:
    """Complete or roll back what an interrupted install left, and remove temporary files
    in the plugin folder (caller holds the install lock). Returns the settled state."""
    state = load_state(settings.state_file)
    for name, pending in sorted(state.pending.items()):
        current = state.plugins.get(name)
        if pending.removing:
            state = _finish_removal(settings, state, name)
        elif current is not None and current.digest == pending.record.digest:
            state = _finish(settings, state, name)  # recorded: only the cleanup was left
        elif _file_digest(installed_path(settings, name)) == pending.record.digest:
            state = _finish(settings, committed(state, name), name)  # roll forward
        else:  # the new bundle never landed: the old state stands
            state = InstallState(state.plugins,
                                 {n: p for n, p in state.pending.items() if n != name})
            save_state(settings.state_file, state)
    for leftover in install_leftovers(settings):
        remove_file(leftover)
    return state


def settle_now(settings: Settings) -> InstallState:
    """:func:`settle` under the install lock (``plugin update``, ``doctor --fix``)."""
    with file_lock(settings.home / "install.lock"):
        return settle(settings)


def _slot_action(action: str, holder: InstallRecord, new: InstallRecord) -> str:
    """What installing ``new`` does to its slot when ``holder`` (another name) holds it."""
    if action != "installed":
        return action
    from packaging.version import Version

    new_v, old_v = Version(new.version), Version(holder.version)
    return "upgraded" if new_v > old_v else "downgraded" if new_v < old_v else "replaced"


def _same_provider(old: InstallRecord, new: InstallRecord) -> bool:
    """Records ``new`` displaces: its own name, and whatever held its provider slot."""
    return old.name == new.name or (
        (old.category, old.provider_name) == (new.category, new.provider_name))


def _file_digest(path: Path) -> str | None:
    from pepperpy.core import PepperpyError
    from pepperpy.trust.gate import open_regular

    try:
        with open_regular(path) as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except (OSError, PepperpyError):
        return None


def remove_plugin(name: str, *, settings: Settings) -> InstallRecord:
    """Remove an installed plugin and its record (its name's ownership goes with it).

    Journaled like an install: the state marks the removal pending, the file goes,
    then the record. Running it again after a crash finishes the removal."""
    with file_lock(settings.home / "install.lock"):
        interrupted = load_state(settings.state_file).pending.get(name)
        state = settle(settings)
        record = state.plugins.get(name)
        if record is None and interrupted is not None and interrupted.removing:
            return interrupted.record  # the crashed removal, finished by ``settle``
        if record is None:
            installed = ", ".join(sorted(state.plugins)) or "none"
            raise PluginNotFoundError(
                f"no installed plugin named {name!r} (installed: {installed}); "
                "see `pepperpy plugin list`",
                plugin=name,
            )
        journal = InstallState(state.plugins,
                               {**state.pending, name: Pending(record, removing=True)})
        save_state(settings.state_file, journal)
        _finish_removal(settings, journal, name)
    return record


def _finish_removal(settings: Settings, state: InstallState, name: str) -> InstallState:
    remove_file(settings.plugins_dir / state.pending[name].record.file)
    done = InstallState({n: r for n, r in state.plugins.items() if n != name},
                        {n: p for n, p in state.pending.items() if n != name})
    save_state(settings.state_file, done)
    return done
