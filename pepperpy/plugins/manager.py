"""The plugin manager: discover -> authenticate -> policy -> dependencies -> import.

Implements the registry's ``ProviderResolver``. The decisions are made elsewhere, each
in one place: "is this bundle authentic" in ``bundle/verify.py`` (reached through
``verification.py``, which adds the bounded reads and the verified cache), "may it be
used here" in ``policy.py``. This module orders them and does the I/O between:

- No byte of plugin code runs and uv never starts before the bundle authenticated
  against a trusted, unrevoked key and passed ``policy.usable_here``. The bytes imported
  are the bytes verified: they are read once, checked, and imported from memory
  (``loader.py``).
- Candidates for one ``(category, provider_name)`` are the bundles discovery verified;
  each is authenticated again from a fresh read and checked by the policy; the usable
  ones are ranked by ``policy.rank``. When several qualify, a ``PluginConflictWarning``
  names them.
- The best usable candidate is loaded; when it cannot be (its dependencies are missing
  and cannot be installed, its import fails, its class is not a provider), the next one
  is tried with a ``PluginFallbackWarning`` that says why, so one broken release never
  takes down a provider that an older trusted release still serves.
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

from pepperpy._gcpause import paused

with paused():  # the load path's modules import without collector passes (_gcpause.py)
    from pepperpy._frames import with_room
    from pepperpy._record import record
    from pepperpy._version import __version__
    from pepperpy.bundle.trust import read_trust
    from pepperpy.core import (
        BundleInvalidError,
        DependencyError,
        InstallRefusedError,
        PepperpyError,
        PluginLoadError,
        PluginNotFoundError,
        RevokedError,
        TrustError,
        UntrustedPublisherError,
    )
    from pepperpy.plugins.depcache import DependencySpec, LockedRequirement, already_met
    from pepperpy.plugins.discovery import Found, discover
    from pepperpy.plugins.state import (
        InstallState,
        load_state,
        read_again_if_installed,
        read_lock,
        settled_for,
    )
    from pepperpy.registry import LoadedProvider, check_provider_class
    from pepperpy.settings import Settings
    from pepperpy.trust import admissible as policy
    from pepperpy.trust.gate import Trust, authenticate
    from pepperpy.trust.sealed import import_bundle
    from pepperpy.trust.types import PluginManifest, VerifiedBundle

__all__ = [
    "Chosen",
    "PluginConflictWarning",
    "PluginFallbackWarning",
    "PluginManager",
    "dependency_spec",
]


class PluginConflictWarning(UserWarning):
    """Several usable bundles offer one provider; the message says which one won."""


class PluginFallbackWarning(UserWarning):
    """The best bundle for a provider could not be loaded; the next usable one was."""


@record
class Chosen:
    """A bundle that authenticated and passed the policy, with where it was found."""

    verified: VerifiedBundle
    found: Found

    @property
    def manifest(self) -> PluginManifest:
        return self.verified.manifest

    def describe(self) -> str:
        m = self.manifest
        return f"{m.name} {m.version} from {self.found.path} (key {self.verified.key_id[:12]})"


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
        self._yanked: frozenset[str] | None = None

    # -- discovery ---------------------------------------------------------------

    def discover(self, *, refresh: bool = False, trust: Trust | None = None) -> list[Found]:
        """Every bundle in the search folders, verified or refused (cached per manager);
        ``trust``: the store as the caller just read it (read here otherwise)."""
        if self._found is None or refresh:
            self._found = discover(self.settings, trust or self.trust())
        return self._found

    def trust(self) -> Trust:
        """The trust store as it is now (read on each call: it may change)."""
        return read_trust(self.settings)

    def available(self, category: str) -> list[str]:
        """Provider names offered for ``category`` by bundles that verified."""
        names = {
            f.provider_name for f in self.discover()
            if f.category == category and f.provider_name and not f.problem
        }
        if self.settings.dev_plugins:
            from pepperpy.plugins import devmode

            names.update(devmode.available(self.settings, category))
        return sorted(n for n in names if n)

    # -- resolution --------------------------------------------------------------

    def resolve(self, category: str, provider_name: str) -> LoadedProvider | None:
        """Authenticate, choose, install dependencies and import; None if nothing offers it."""
        key = (category, provider_name)
        if key in self._resolved:
            return self._resolved[key]
        loaded = self._developer_mode(category, provider_name)
        if loaded is None:
            ranked = self.candidates(category, provider_name)
            if not ranked:
                if self.settings.dev_plugins:
                    from pepperpy.plugins import devmode

                    devmode.raise_if_broken(self.settings, category, provider_name)
                return None
            loaded = self._load_first_usable(ranked, category)
        self._resolved[key] = loaded
        return loaded

    def _developer_mode(self, category: str, provider_name: str) -> LoadedProvider | None:
        """Unsigned source folders, only when the operator listed some (policy rule 7)."""
        if not self.settings.dev_plugins:
            return None
        from pepperpy.plugins import devmode

        return devmode.resolve(self.settings, category, provider_name)

    @read_again_if_installed
    def candidates(self, category: str, provider_name: str) -> list[Chosen]:
        """Usable bundles offering the provider, best first; [] if none is offered.

        Raises the most telling refusal when bundles offer it but none is usable.
        """
        trust = self.trust()  # read once: a first discovery checks against the same store
        offered = [
            f for f in self.discover(trust=trust)
            if (f.category, f.provider_name) == (category, provider_name) and not f.problem
        ]
        with self.install_read_lock():
            state = load_state(self.settings.state_file)
            if not offered:
                self._raise_if_refused(state, category, provider_name)
                return []
            usable: list[Chosen] = []
            failures: list[tuple[Found, PepperpyError]] = []
            for found in offered:
                try:
                    usable.append(self.check(found, state=state, trust=trust))
                except PepperpyError as exc:
                    failures.append((found, exc))
        trust.cache.flush()
        if not usable:
            self._raise_if_installed_copy_broken(state, category, provider_name)
            raise _best_failure(category, provider_name, failures)
        ranked = policy.rank([(c.manifest.version, c) for c in usable])
        # identical copies (same bytes: `make demo` installs what dist_plugins/ holds) are
        # no conflict: whichever loads, the code is the same
        distinct = [c for c in ranked[1:] if c.verified.digest != ranked[0].verified.digest]
        if distinct:
            others = "; ".join(c.describe() for c in distinct)
            warnings.warn(
                f"{len(distinct) + 1} bundles offer {category} provider {provider_name!r}: using "
                f"{ranked[0].describe()} (highest version, then search order); not using "
                f"{others}. Remove the ones you do not want (`pepperpy plugin list` shows "
                "them)", PluginConflictWarning, stacklevel=4,
            )
        return ranked

    def choose(self, category: str, provider_name: str) -> Chosen | None:
        """The best usable bundle for a provider, or None if none is offered."""
        ranked = self.candidates(category, provider_name)
        return ranked[0] if ranked else None

    @read_again_if_installed
    def installed(self, name: str) -> Chosen:
        """``name``'s installed bundle, read, verified and checked like any load (``plugin
        deps NAME`` installs its requirements, never another bundle's)."""
        trust = self.trust()
        with self.install_read_lock():
            state = load_state(self.settings.state_file)
            record = state.plugins.get(name)
            if record is None:
                raise PluginNotFoundError(
                    f"plugin {name!r} is not installed (installed: "
                    f"{', '.join(sorted(state.plugins)) or 'none'}); install it first with "
                    f"`pepperpy plugin install {name}`", plugin=name)
            found = Found(str((self.settings.plugins_dir / record.file).absolute()),
                          "installed", 0, name, record.version, record.category,
                          record.provider_name)
            chosen = self.check(found, state=state, trust=trust)
        trust.cache.flush()
        return chosen

    def check(self, found: Found, *, state: InstallState, trust: Trust) -> Chosen:
        """Authenticate one bundle from a fresh read and apply the policy to it."""
        verified = authenticate(Path(found.path), trust)
        m = verified.manifest
        if (m.category, m.provider_name) != (found.category, found.provider_name):
            raise BundleInvalidError("the bundle changed while it was being read",
                                     path=found.path)
        yanked = found.source != "installed" and verified.digest in self.withdrawn()
        candidate = policy.Candidate(m, verified.digest, verified.key_id, found.path,
                                     found.source, yanked)
        state = settled_for(state, m.name, verified.digest)  # an install in progress
        policy.usable_here(candidate, state, scopes=trust.scopes(verified.key_id),
                           pepperpy_version=__version__, only=trust.only(verified.key_id))
        return Chosen(verified, found)

    def withdrawn(self) -> frozenset[str]:
        """Digests an index yanked (read once per manager, only when a bundle from a
        searched folder is checked: installed copies never need it)."""
        if self._yanked is None:
            from pepperpy.plugins.discovery import withdrawn_digests

            self._yanked = withdrawn_digests(self.settings)
        return self._yanked

    def install_read_lock(self) -> AbstractContextManager[None]:
        """The shared install lock: an install in progress never looks like tampering
        (its file and its record are read together, both old or both new)."""
        return read_lock(self.settings.home / "install.lock")

    def _raise_if_refused(
        self, state: InstallState, category: str, provider_name: str
    ) -> None:
        """No verified bundle offers the provider: if its installed copy, or any other
        bundle found, was refused, raise that refusal (its claims were never read, so
        any of them may be the one meant) instead of a bare "not found"."""
        self._raise_if_installed_copy_broken(state, category, provider_name)
        refused = [(f, _refusal_error(f, "")) for f in self.discover() if f.problem]
        if refused:
            raise _best_failure(category, provider_name, refused, verified_only=True)

    def _raise_if_installed_copy_broken(
        self, state: InstallState, category: str, provider_name: str
    ) -> None:
        """An installed provider whose file is refused or gone is that error, never a
        fall back to another folder's bundle and never a bare "not found"."""
        record = state.owner_of_provider(category, provider_name)
        if record is None:
            return
        path = str((self.settings.plugins_dir / record.file).absolute())
        for f in self.discover():
            if f.path == path and f.problem:
                fix = (f"remove it with `pepperpy plugin remove {record.name}` and install "
                       "another version" if f.refusal == "RevokedError"
                       else "reinstall it with `pepperpy plugin install FILE`")
                raise _refusal_error(f, f"installed {record.name} {record.version} is refused "
                                        f"({fix}): ")
        if not os.path.exists(path):
            raise BundleInvalidError(
                f"installed {record.name} {record.version} is missing; reinstall it "
                f"with `pepperpy plugin install FILE` or `pepperpy plugin remove "
                f"{record.name}`", plugin=record.name, path=path,
            )

    # -- loading -----------------------------------------------------------------

    def _load_first_usable(self, ranked: list[Chosen], category: str) -> LoadedProvider:
        """Load the best candidate; on a failure that is the bundle's own, the next."""
        failures: list[tuple[Chosen, PepperpyError]] = []
        for chosen in ranked:
            try:
                loaded = self.load(chosen, category)
            except (DependencyError, PluginLoadError) as exc:
                failures.append((chosen, exc))
                continue
            if failures:
                why = "; ".join(f"{c.describe()}: {e}" for c, e in failures)
                warnings.warn(
                    f"using {chosen.describe()} because the better candidates cannot be "
                    f"loaded: {why}", PluginFallbackWarning, stacklevel=5)
            return loaded
        first = failures[0][1]
        if len(failures) == 1:
            raise first
        reasons = "; ".join(f"{c.describe()}: {e}" for c, e in failures)
        error_type = DependencyError if isinstance(first, DependencyError) else PluginLoadError
        raise error_type(f"no bundle for {category} provider "
                         f"{ranked[0].manifest.provider_name!r} could be loaded: {reasons}",
                         plugin=ranked[0].manifest.name) from first

    def load(self, chosen: Chosen, category: str) -> LoadedProvider:
        """Dependencies, then import from the verified bytes, then the interface check."""
        verified, m = chosen.verified, chosen.manifest
        spec = dependency_spec(m)
        if not already_met(spec, self.settings):  # else the check (and uv) is imported
            from pepperpy.plugins.dependencies import ensure_dependencies

            ensure_dependencies(spec, settings=self.settings, auto_install=self.auto_install,
                                progress=self.progress)
        # with room: the plugin's imports (an SDK's hundreds of modules) run without
        # mapping and unmapping frame-stack chunks at every level (pepperpy/_frames.py)
        cls = with_room(import_bundle, verified, location=Path(chosen.found.path))
        origin = f"{chosen.found.path} ({m.name} {m.version}, key {verified.key_id[:12]})"
        loaded = LoadedProvider(cls, config_schema=m.config_schema, origin=origin,
                                extra={"digest": verified.digest, "key_id": verified.key_id,
                                       "name": m.name, "version": m.version})
        return check_provider_class(category, m.provider_name, loaded)

    def install_dependencies(self, chosen: Chosen) -> None:
        """Install a verified bundle's dependencies now (``pepperpy plugin deps``)."""
        from pepperpy.plugins.dependencies import ensure_dependencies

        ensure_dependencies(dependency_spec(chosen.manifest), settings=self.settings,
                            auto_install=True, progress=self.progress)


def dependency_spec(manifest: PluginManifest) -> DependencySpec:
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


_PRIORITY: tuple[type[PepperpyError], ...] = (
    RevokedError, InstallRefusedError, UntrustedPublisherError, BundleInvalidError,
    PluginLoadError, TrustError, DependencyError,
)


_REFUSALS: dict[str, type[TrustError]] = {
    cls.__name__: cls
    for cls in (RevokedError, InstallRefusedError, UntrustedPublisherError, BundleInvalidError)
}


def _refusal_error(found: Found, prefix: str) -> PepperpyError:
    """The refusal discovery recorded for ``found``, as the error type it was."""
    cls = _REFUSALS.get(found.refusal or "", BundleInvalidError)
    message = f"{prefix}{found.problem}"
    if cls is BundleInvalidError:
        return BundleInvalidError(message, path=found.path)
    if cls is UntrustedPublisherError:
        return UntrustedPublisherError(message, key_id=found.key_id)
    return cls(message)


def _best_failure(
    category: str, provider_name: str, failures: list[tuple[Found, PepperpyError]],
    *, verified_only: bool = False,
) -> PepperpyError:
    """The most telling refusal, with every bundle's reason in its message."""
    def rank(item: tuple[Found, PepperpyError]) -> int:
        for i, cls in enumerate(_PRIORITY):
            if isinstance(item[1], cls):
                return i
        return len(_PRIORITY)

    _found, first = min(failures, key=rank)
    if len(failures) == 1 and not verified_only:
        return first
    reasons = "; ".join(f"{f.path}: {e}" for f, e in failures)
    what = ("no verified bundle offers" if verified_only else "no usable bundle offers")
    refused = (" and these bundles were refused before their manifests were read (one may "
               "be the one you mean)" if verified_only else "")
    error = type(first).__new__(type(first))
    Exception.__init__(error, f"{what} {category} provider {provider_name!r}{refused}: "
                              f"{reasons}")
    error.__dict__.update(first.__dict__)
    return error
