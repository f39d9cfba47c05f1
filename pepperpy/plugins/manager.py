"""The plugin manager: discover -> verify -> choose -> dependencies -> import.

Implements the registry's ``ProviderResolver``. Invariants (ARCHITECTURE.md, SECURITY.md):

- No byte of plugin code runs and uv never starts before the bundle verified against a
  trusted, unrevoked key, and its digest is not revoked. The bytes imported are the
  bytes verified: ``loader`` imports code and data from them in memory, never a path.
- Choosing among bundles for one ``(category, provider_name)``: only bundles that
  verify, are trusted, fit this PepperPy and respect name ownership are candidates;
  the highest version wins; equal versions go to the earlier search folder
  (``discovery.py``). When several qualify, a ``PluginConflictWarning`` names them.
- An installed copy must match its install record (digest): a swapped file (even an
  older, validly signed one) is refused. A bundle from any other folder whose name has
  an install record must not be older than the record, nor the same version with other
  bytes: a missing or damaged installed copy never falls back to an older or different
  signed bundle (state ``rollback``).
- A key trusted with ``--scope NAME`` may take over the installed plugin NAME (its name
  and its provider), at load as at install.
- The install record and installed files are read under the shared install lock, so a
  concurrent install is seen entirely before or entirely after.
- One broken bundle never stops another: failures are collected per bundle and only
  raised when nothing usable offers the provider.
- Developer mode (``Settings.dev_plugins``) imports unsigned ``plugin_src`` folders,
  only when set, with a warning on stderr and a ``DeveloperModeWarning``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pepperpy.core import (
    BundleInvalidError,
    DependencyError,
    InstallRefusedError,
    PepperpyError,
    PluginLoadError,
    RevokedError,
    TrustError,
    UntrustedPublisherError,
)
from pepperpy.plugins import devmode
from pepperpy.plugins.dependencies import DependencySpec, LockedRequirement, ensure_dependencies
from pepperpy.plugins.discovery import Found, discover
from pepperpy.plugins.loader import import_entry_point, package_name
from pepperpy.plugins.locking import read_lock
from pepperpy.plugins.state import InstallState, load_state
from pepperpy.plugins.verification import (
    check_compatible,
    takeover_scopes,
    trust_snapshot,
    verify_file,
)
from pepperpy.registry import LoadedProvider
from pepperpy.settings import Settings

__all__ = ["PluginConflictWarning", "PluginManager", "dependency_spec"]


class PluginConflictWarning(UserWarning):
    """Several usable bundles offer one provider; the message says which one won."""


class PluginManager:
    """Finds, verifies, installs dependencies of, and imports provider bundles."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        auto_install: bool | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.auto_install = self.settings.auto_install if auto_install is None else auto_install
        self.progress = progress
        self._found: list[Found] | None = None
        self._resolved: dict[tuple[str, str], LoadedProvider] = {}

    # -- discovery ---------------------------------------------------------------

    def discover(self, *, refresh: bool = False) -> list[Found]:
        """Every bundle in the search folders (cached for this manager)."""
        if self._found is None or refresh:
            self._found = discover(self.settings)
        return self._found

    def available(self, category: str) -> list[str]:
        """Provider names offered for ``category`` (manifests only: nothing verified)."""
        names = {
            f.provider_name for f in self.discover()
            if f.category == category and f.provider_name and not f.problem
        }
        names.update(devmode.available(self.settings, category))
        return sorted(n for n in names if n)

    # -- resolution --------------------------------------------------------------

    def resolve(self, category: str, provider_name: str) -> LoadedProvider | None:
        """Verify, choose, install dependencies and import; None if nothing offers it."""
        key = (category, provider_name)
        if key in self._resolved:
            return self._resolved[key]
        loaded = devmode.resolve(self.settings, category, provider_name)
        if loaded is None:
            verified = self.choose(category, provider_name)
            if verified is None:
                devmode.raise_if_broken(self.settings, category, provider_name)
                return None
            loaded = self._load(verified)
        self._resolved[key] = loaded
        return loaded

    def choose(self, category: str, provider_name: str) -> Any | None:
        """The winning ``(VerifiedBundle, Found)`` for a provider, or None if none is offered."""
        candidates = [
            f for f in self.discover()
            if (f.category, f.provider_name) == (category, provider_name) and not f.problem
        ]
        with self.install_read_lock():
            state = load_state(self.settings.state_file)
            if not candidates:
                self._raise_if_installed_copy_broken(state, category, provider_name)
                return None
            usable, failures = self._check_all(candidates, state)
        if not usable:
            self._raise_if_installed_copy_broken(state, category, provider_name)
            raise _best_failure(category, provider_name, failures)
        return _pick(usable, category, provider_name)

    def install_read_lock(self) -> AbstractContextManager[None]:
        """The shared install lock: an install in progress never looks like tampering
        (its file and its record are read together, both old or both new)."""
        return read_lock(self.settings.home / "install.lock")

    def _check_all(
        self, candidates: list[Found], state: InstallState
    ) -> tuple[list[tuple[Any, Found]], list[tuple[Found, PepperpyError]]]:
        snapshot = trust_snapshot(self.settings)
        usable: list[tuple[Any, Found]] = []
        failures: list[tuple[Found, PepperpyError]] = []
        for found in candidates:
            try:
                usable.append((self.check(found, state=state, snapshot=snapshot), found))
            except PepperpyError as exc:
                failures.append((found, exc))
        return usable, failures

    def _raise_if_installed_copy_broken(
        self, state: InstallState, category: str, provider_name: str
    ) -> None:
        """An installed provider whose file no longer reads is an error, not 'not found'."""
        record = state.owner_of_provider(category, provider_name)
        if record is None:
            return
        path = str((self.settings.plugins_dir / record.file).absolute())
        for found in self.discover():
            if found.path == path and found.problem:
                raise BundleInvalidError(
                    f"installed {record.name} {record.version} is damaged ({found.problem}); "
                    "reinstall it with `pepperpy plugin install FILE`",
                    plugin=record.name, path=path,
                )
        if not os.path.exists(path):
            raise BundleInvalidError(
                f"installed {record.name} {record.version} is missing; reinstall it with "
                "`pepperpy plugin install FILE` or `pepperpy plugin remove "
                f"{record.name}`", plugin=record.name, path=path,
            )

    def choose_by_name(self, name: str) -> Any | None:
        """Like ``choose``, for the provider that the bundles named ``name`` offer."""
        for f in self.discover():
            if f.name == name and not f.problem and f.category and f.provider_name:
                return self.choose(f.category, f.provider_name)
        return None

    def check(self, found: Found, *, state: InstallState, snapshot: Any) -> Any:
        """Fully verify one bundle and apply ownership, record and compatibility rules."""
        verified = verify_file(Path(found.path), snapshot=snapshot)
        m = verified.manifest
        if (m.category, m.provider_name) != (found.category, found.provider_name):
            raise BundleInvalidError("the manifest changed while it was being read",
                                     path=found.path)
        _check_record(found, verified, state)
        _check_owner(found, verified, state, snapshot)
        check_compatible(verified.manifest, path=found.path)
        return verified

    def _load(self, chosen: tuple[Any, Found]) -> LoadedProvider:
        verified, found = chosen
        m = verified.manifest
        ensure_dependencies(dependency_spec(m), settings=self.settings,
                            auto_install=self.auto_install, progress=self.progress)
        cls = import_entry_point(
            m.entry_point, package=package_name(m.name, verified.digest),
            data=verified.data, digest=verified.digest, location=Path(found.path),
            plugin=m.name,
        )
        origin = f"{found.path} ({m.name} {m.version}, key {verified.key_id[:12]})"
        return LoadedProvider(cls, config_schema=m.config_schema, origin=origin,
                              extra={"digest": verified.digest, "key_id": verified.key_id,
                                     "name": m.name, "version": m.version})

    def install_dependencies(self, chosen: tuple[Any, Found]) -> None:
        """Install a verified bundle's dependencies now (``pepperpy plugin deps``)."""
        ensure_dependencies(dependency_spec(chosen[0].manifest), settings=self.settings,
                            auto_install=True, progress=self.progress)


def dependency_spec(manifest: Any) -> DependencySpec:
    """What a verified manifest asks of the environment."""
    lock = tuple(
        LockedRequirement(p.name, p.version, tuple(p.hashes))
        for p in (manifest.dependency_lock or ())
    )
    return DependencySpec(
        plugin=manifest.name,
        requirements=tuple(manifest.dependencies),
        lock=lock,
        source_builds=frozenset(manifest.source_builds),
    )


def _refusal(message: str, *, plugin: str, state: str) -> InstallRefusedError:
    error = InstallRefusedError(message, plugin=plugin)
    error.state = state  # type: ignore[attr-defined]
    return error


def _check_record(found: Found, verified: Any, state: InstallState) -> None:
    """The install record pins a name to one digest: from ANY folder, an older version
    or the same version with other bytes is a rollback, never a fallback."""
    from packaging.version import Version

    m = verified.manifest
    record = state.plugins.get(m.name)
    if found.source == "installed":
        if record is None or record.digest != verified.digest:
            raise _refusal(
                f"{found.path}: the installed copy of {m.name!r} does not match its "
                "install record (replaced behind PepperPy's back, or a rollback); "
                "reinstall it with `pepperpy plugin install FILE`",
                plugin=m.name, state="tampered")
        return
    if record is None or record.digest == verified.digest:
        return
    version, installed = Version(m.version), Version(record.version)
    if version > installed:
        return
    what = "is older than" if version < installed else (
        f"(sha256 {verified.digest[:16]}) has other bytes than")
    raise _refusal(
        f"{found.path}: {m.name} {m.version} {what} the installed {record.version} "
        "recorded in the install state, so it is not used in its place (rollback "
        f"protection). If the installed copy is missing or damaged, reinstall {m.name} "
        "with `pepperpy plugin install FILE`; to switch to this bundle on purpose run "
        f"`pepperpy plugin install {found.path} --allow-downgrade` (or `--force` for the "
        "same version)", plugin=m.name, state="rollback")


def _check_owner(found: Found, verified: Any, state: InstallState, snapshot: Any) -> None:
    """Another key's bundle never wins a name/provider it does not own (unless scoped)."""
    m = verified.manifest
    owner = state.owner_conflict(
        name=m.name, category=m.category, provider_name=m.provider_name,
        key_id=verified.key_id, may_take_over=takeover_scopes(snapshot, verified.key_id),
    )
    if owner is None:
        return
    raise _refusal(
        f"{found.path}: {m.name!r} is signed by key {verified.key_id[:12]} but the "
        f"installed {owner.name!r} owns that name/provider (key {owner.key_id[:12]}); to "
        f"move it run `pepperpy plugin install {found.path} --transfer-owner`, or trust "
        f"the new key for it with `pepperpy trust add PUBFILE --scope {owner.name}`",
        plugin=m.name, state="not-owner")


def _pick(usable: list[tuple[Any, Found]], category: str, provider_name: str) -> Any:
    from packaging.version import Version

    ranked = sorted(
        usable, key=lambda vf: (Version(vf[0].manifest.version), -vf[1].order), reverse=True
    )
    winner = ranked[0]
    if len(ranked) > 1:
        others = "; ".join(_describe(v, f) for v, f in ranked[1:])
        warnings.warn(
            f"{len(ranked)} bundles offer {category} provider {provider_name!r}: using "
            f"{_describe(*winner)} (highest version, then search order); not using {others}. "
            "Remove the ones you do not want (`pepperpy plugin list` shows them)",
            PluginConflictWarning, stacklevel=4,
        )
    return winner


def _describe(verified: Any, found: Found) -> str:
    m = verified.manifest
    return f"{m.name} {m.version} from {found.path} (key {verified.key_id[:12]})"


_PRIORITY: tuple[type[PepperpyError], ...] = (
    RevokedError, InstallRefusedError, UntrustedPublisherError, BundleInvalidError,
    PluginLoadError, TrustError, DependencyError,
)


def _best_failure(
    category: str, provider_name: str, failures: list[tuple[Found, PepperpyError]]
) -> PepperpyError:
    """The most telling refusal, with every bundle's reason in its message."""
    def rank(item: tuple[Found, PepperpyError]) -> int:
        for i, cls in enumerate(_PRIORITY):
            if isinstance(item[1], cls):
                return i
        return len(_PRIORITY)

    _found, first = min(failures, key=rank)
    if len(failures) == 1:
        return first
    reasons = "; ".join(f"{f.path}: {e}" for f, e in failures)
    error = type(first).__new__(type(first))
    Exception.__init__(error, f"no usable bundle offers {category} provider "
                              f"{provider_name!r}: {reasons}")
    error.__dict__.update(first.__dict__)
    return error
