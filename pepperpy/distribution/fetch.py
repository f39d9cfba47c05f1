"""Install, update and list plugins by name from the configured indexes.

Order for one install (each step refuses before the next runs):

1. refresh every index involved (ngclient: freshness, rollback, mix-and-match,
   signatures against the pinned root);
2. choose the offer (``catalog.choose``: highest usable version, not yanked);
3. nothing to do if that exact bundle is installed (same SHA-256: no download);
4. confirm the target through ngclient and download it (cut off past the signed
   length, refused unless exactly that long) into a file with no name in the plugin
   folder (``pepperpy.plugins.incoming``; where the system has none, into memory);
5. hand it to ``install_incoming`` (or ``install_bytes``): the gate verifies the
   bundle's signature against the trust store (trusting an index never trusts a
   publisher); its SHA-256 of the bytes must equal the signed target hash (TUF's
   arbitrary-package check, from the gate's one pass) before the listing check, the
   rollback and ownership rules, and the atomic install, which names the file. A
   bundle the gate refuses is refused as an arbitrary package if its bytes are not the
   signed ones;
6. dependencies, as ``pepperpy plugin install FILE`` does.

No plugin code and no uv run happen before steps 4 and 5 both passed; nothing of the
download gets a name on disk before then (the unnamed file vanishes on any refusal or
crash).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pepperpy._record import record
from pepperpy.core import (
    ConfigurationError,
    IndexRefusedError,
    IndexUnavailableError,
    PepperpyError,
    PluginNotFoundError,
    UntrustedPublisherError,
    ValidationError,
)
from pepperpy.distribution import catalog, pending_trust
from pepperpy.distribution.catalog import Offer
from pepperpy.distribution.config import SEARCH_MAX_AGE_ENV, parse_duration
from pepperpy.distribution.publisher_keys import PublisherKey, TrustChange, widening
from pepperpy.distribution.store import IndexConfig, IndexStore, check_index_name, check_url
from pepperpy.fsio import atomic_write, ensure_folder
from pepperpy.settings import Settings

if TYPE_CHECKING:  # the TUF client is imported where an index is contacted
    from pepperpy.distribution.client import IndexClient
    from pepperpy.trust.types import TrustSnapshot

__all__ = [
    "AddedIndex",
    "InstallOutcome",
    "Outdated",
    "PublisherKey",
    "Session",
    "TrustChange",
    "add_index",
    "apply_trust",
    "installed_plugins",
    "publisher_keys",
    "settle_trust",
    "trust_changes",
]

Progress = Callable[[str], None]


@record
class InstallOutcome:
    """``action``: ``"unchanged"`` or install_bundle's action; ``result`` its result."""

    offer: Offer
    action: str
    result: Any = None


@record
class Outdated:
    """An installed plugin with a newer usable version, or whose version was yanked
    (``yanked_reason`` the publisher's words, ``fix`` the command that moves off it)."""

    name: str
    installed: str
    latest: str
    index: str
    yanked: bool = False
    yanked_reason: str = ""
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "installed": self.installed, "latest": self.latest,
                "index": self.index, "yanked": self.yanked,
                "yanked_reason": self.yanked_reason, "fix": self.fix}


@record
class AddedIndex:
    """What ``index add`` did: the index, its offers, the publisher keys it names, and
    the trust store as it was read before anything was written."""

    config: IndexConfig
    offers: list[Offer]
    keys: list[PublisherKey]
    trusted: TrustSnapshot


def add_index(settings: Settings, name: str, url: str, root_file: Path, *,
              trust_publishers: bool = False, show: Progress | None = None) -> AddedIndex:
    """Pin ``root_file``, refresh once to prove URL and root belong together, record it.

    Adding the same index again (same name, URL and root) refreshes it and succeeds, so
    an interrupted ``index add`` is finished by running it again. With
    ``trust_publishers``, the publisher keys the index names are shown through
    ``show`` and added to the trust store. Everything is read first (the root file,
    the trust store, the index itself) and written last; nothing is recorded if
    anything fails, and a failed trust write takes the new index out again.
    """
    from pepperpy.distribution.client import IndexClient

    store = IndexStore(settings)
    check_index_name(name)
    url = check_url(url)
    root = _read_root(root_file)
    trusted = _trust_snapshot(settings)  # a damaged store refuses here, before any write
    created = store.missing_folders()  # a failed add in a fresh home removes them again
    with store.locked():
        store.clean()  # what an interrupted `index add` left
        pending_trust.settle_locked(settings, store, show)
        existing = next((c for c in store.list() if c.name == name), None)
        if existing is not None:
            config, offers, keys = _same_again(settings, store, existing, url, root,
                                               trust_publishers=trust_publishers)
            if trust_publishers:
                _trust(settings, keys, show)
            return AddedIndex(config, offers, keys, trusted)
        staged = store.staging_dir(name)
        try:
            atomic_write(staged / "root.json", root, mode=0o600, root=staged)
            offers = IndexClient(store, IndexConfig(name, url, ""), folder=staged).refresh()
            keys = publisher_keys(offers)
            if trust_publishers:
                _check_trustable(settings, keys)  # refuse before anything is recorded
                pending_trust.note_keys(staged, keys)  # recorded with the index
            config = store.record(name, url, staged)
            if trust_publishers:
                _trust_or_forget(settings, store, name, keys, show)
                pending_trust.finished(store, name)
        except BaseException as exc:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
            store.forget_folders(created)
            _name_the_url(exc, url)
            raise
    return AddedIndex(config, offers, keys, trusted)


def _trust_or_forget(settings: Settings, store: IndexStore, name: str,
                     keys: list[PublisherKey], show: Progress | None) -> None:
    """Trust the keys of an index just recorded, or take the index out again: a command
    that failed has added nothing (the caller holds the index store's lock)."""
    try:
        _trust(settings, keys, show)
    except BaseException as exc:
        store.forget(name)
        if isinstance(exc, PepperpyError) and exc.args:
            exc.args = (f"{exc.args[0]}; nothing was added (index {name!r} was taken out "
                        "again)", *exc.args[1:])
        raise


def _same_again(settings: Settings, store: IndexStore, existing: IndexConfig, url: str,
                root: bytes, *, trust_publishers: bool
                ) -> tuple[IndexConfig, list[Offer], list[PublisherKey]]:
    """``index add`` of an index already recorded with this URL and root: a retry (of a
    command that was interrupted, say) refreshes it and succeeds; anything else is a
    conflict the operator must resolve."""
    from pepperpy.distribution.client import IndexClient

    if existing.url != url or store.pinned_root(existing.name) != root:
        raise ConfigurationError(
            f"an index named {existing.name!r} already exists with another URL or root; "
            f"remove it first with `pepperpy index remove {existing.name}`"
        )
    offers = IndexClient(store, existing).refresh()
    keys = publisher_keys(offers)
    if trust_publishers:
        _check_trustable(settings, keys)
    return existing, offers, keys


def _read_root(path: Path) -> bytes:
    from tuf.api.metadata import Metadata, Root

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read root file {path}: {exc.strerror}") from None
    if len(data) > 512_000:
        raise ValidationError(f"{path} is too large to be a TUF root")
    try:
        md = Metadata[Root].from_bytes(data)
        md.signed.verify_delegate("root", md.signed_bytes, md.signatures)
    except Exception as exc:  # DeserializationError, UnsignedMetadataError, ValueError...
        raise ValidationError(
            f"{path} is not a TUF root signed by its own keys ({type(exc).__name__}); use "
            "the DIR/metadata/1.root.json the index's operator handed out"
        ) from None
    return data


def publisher_keys(offers: Iterable[Offer]) -> list[PublisherKey]:
    """The publisher keys an index names; a key whose bytes do not match its id is skipped."""
    import base64

    from pepperpy.bundle.keys import PublicKey
    from pepperpy.core import PepperpyError

    found: dict[str, tuple[str, bytes, set[str]]] = {}
    for o in offers:
        try:
            raw = base64.b64decode(o.publisher_key, validate=True)
            key = PublicKey(raw)
        except (ValueError, PepperpyError):
            continue
        if key.key_id != o.key_id:
            continue
        entry = found.setdefault(key.key_id, (o.publisher, key.pem(), set()))
        entry[2].add(f"{o.name}@{o.category}/{o.provider_name}")
    return [PublisherKey(k, p, pem, tuple(sorted({s.split("@")[0] for s in slots})),
                         tuple(sorted(slots)))
            for k, (p, pem, slots) in sorted(found.items())]


def _check_trustable(settings: Settings, keys: list[PublisherKey]) -> None:
    """What ``TrustStore.add`` would refuse, checked up front: each key's PEM, each
    publisher name, and a readable trust store."""
    from pepperpy.bundle.keys import load_public_key
    from pepperpy.bundle.trust import TrustStore, check_publisher
    from pepperpy.core import PepperpyError

    for key in keys:
        try:
            load_public_key(key.pem)
            check_publisher(_publisher_name(key))
        except PepperpyError as exc:
            raise ValidationError(
                f"the index names publisher key {key.key_id[:16]} that cannot be trusted "
                f"({exc}); nothing was added: add the index without --trust-publishers "
                "and trust its publishers with `pepperpy trust add PUBFILE`"
            ) from None
    TrustStore(settings.trust_file).snapshot()  # a corrupt store fails here, not later


def _publisher_name(key: PublisherKey) -> str:
    return key.publisher or "index-publisher"


def _trust(settings: Settings, keys: list[PublisherKey], show: Progress | None) -> None:
    """Trust ``keys`` for the slots the index lists them for, in one write."""
    from pepperpy.bundle.trust import TrustStore

    for key in keys:
        if show:
            show(f"trusting publisher {key.publisher!r} key {key.key_id} (signs "
                 f"{', '.join(key.names)} in this index)")
    TrustStore(settings.trust_file).add_all(
        [(key.pem, _publisher_name(key), key.slots) for key in keys])


def trust_changes(settings: Settings, offers: Iterable[Offer]) -> list[TrustChange]:
    """How trusting the publishers an index names now would widen the trust store:
    keys it does not hold, and plugins a key trusted with ``--only`` does not cover yet.
    A revoked key is never offered; an unscoped key needs nothing."""
    from pepperpy.bundle.trust import TrustStore

    keys = publisher_keys(offers)
    _check_trustable(settings, keys)
    return widening(keys, TrustStore(settings.trust_file).snapshot())


def apply_trust(settings: Settings, changes: list[TrustChange]) -> None:
    """Add the keys and slots ``changes`` lists (scopes merge; nothing else changes)."""
    from pepperpy.bundle.trust import TrustStore

    TrustStore(settings.trust_file).add_all(  # one write: all of them or none
        [(c.key.pem, _publisher_name(c.key), c.slots) for c in changes])


def settle_trust(settings: Settings) -> None:
    """Finish what a crashed trust change left (``TrustStore.settle``)."""
    from pepperpy.bundle.trust import TrustStore

    TrustStore(settings.trust_file).settle()


class Session:
    """Indexes refreshed at most once per session, then searched and installed from."""

    def __init__(self, settings: Settings, *, index: str | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.store = IndexStore(settings)
        self.progress = progress
        pending_trust.settle(settings, self.store, progress)
        configs = self.store.list()
        if index is not None:
            configs = [self.store.get(index)]
        if not configs:
            raise ConfigurationError(
                "no plugin index is configured; add one with "
                "`pepperpy index add NAME URL --root ROOT.json`"
            )
        self.configs = configs
        self._clients: dict[str, IndexClient] = {}
        self._offers: list[Offer] | None = None
        #: indexes left out of this session's refresh, with the reason
        self.skipped: dict[str, PepperpyError] = {}
        self._stale: list[Offer] | None = None

    def offers(self, *, stale_ok: bool = False) -> list[Offer]:
        """Refresh every index (once per session) and return all their offers.

        An index that cannot be reached or is refused is skipped with a note, so it never
        blocks the others; the error is raised only when every index failed. With
        ``stale_ok`` (search, outdated), a skipped index whose verified metadata has not
        expired contributes its last offers, with a note saying so.
        """
        from pepperpy.distribution.client import IndexClient

        if self._offers is None:
            found: list[Offer] = []
            for config in self.configs:
                client = IndexClient(self.store, config)
                try:
                    with self.store.locked():
                        self.store.clean()
                        found.extend(client.refresh())
                except (IndexUnavailableError, IndexRefusedError) as exc:
                    self.skipped[config.name] = exc
                    if len(self.configs) > 1:  # alone, the error itself is the message
                        self._note(f"skipping index {config.name!r}: {exc}")
                    continue
                self._clients[config.name] = client
            self._offers = found
        stale = self._stale_offers() if stale_ok else []
        if not self._clients and not stale:
            raise next(iter(self.skipped.values()))
        return self._offers + stale

    def _stale_offers(self) -> list[Offer]:
        """Offers of the indexes skipped as unreachable, from their last verified refresh
        while its metadata is unexpired."""
        if self._stale is not None:
            return self._stale
        found: list[Offer] = []
        for name, exc in self.skipped.items():
            if not isinstance(exc, IndexUnavailableError):
                continue  # a refused index's offers are not shown, cached or not
            until = self.store.metadata_expiry(name)
            rows = self.store.load_catalog(name, max_age=float("inf"))
            if until is None or rows is None:
                continue
            self._note(f"note: index {name!r} is unreachable; showing its offers from the "
                       f"last refresh (metadata valid until {until})")
            found.extend(_offer_from_row(name, r) for r in rows)
        self._stale = found
        return found

    def _note(self, line: str) -> None:
        if self.progress:
            self.progress(f"pepperpy: {line}")

    def usable(self) -> list[Offer]:
        """The offers installs choose from: each provider slot from the first index (in
        the operator's order, `pepperpy index list`) that lists it."""
        return catalog.first_index_wins(self.offers(), [c.name for c in self.configs])

    def client(self, name: str) -> IndexClient:
        """The refreshed client of index ``name``."""
        self.offers()
        if name not in self._clients:
            raise self.skipped[name]
        return self._clients[name]

    def cached_offers(self, *, max_age: float | None = None,
                      network: bool = True) -> list[Offer]:
        """Offers from each index's last refresh if recent enough, else refreshed now
        (or, with ``network=False``, left out)."""
        if max_age is None:
            max_age = _max_age()
        found: list[Offer] = []
        for config in self.configs:
            rows = self.store.load_catalog(config.name, max_age=max_age)
            if rows is None:
                if not network:
                    continue
                return self.offers(stale_ok=True)
            found.extend(_offer_from_row(config.name, r) for r in rows)
        return found

    def search(self, term: str | None = None, *, refresh: bool = False) -> list[Offer]:
        offers = self.offers(stale_ok=True) if refresh else self.cached_offers()
        if not term:
            return offers
        needle = term.lower()
        return [o for o in offers if needle in o.name.lower()
                or needle in o.provider_name.lower() or needle in o.category.lower()
                or needle in o.description.lower()]

    def install(self, spec: str, *, category: str | None = None, deps: bool = True,
                allow_downgrade: bool = False, force: bool = False,
                transfer_owner: bool = False) -> InstallOutcome:
        """``pepperpy plugin install NAME[==VERSION]``."""
        return self.install_offer(self.choose(spec, category=category), deps=deps,
                                  allow_downgrade=allow_downgrade, force=force,
                                  transfer_owner=transfer_owner)

    def choose(self, spec: str, *, category: str | None = None) -> Offer:
        """The offer ``install`` would install for ``NAME[==VERSION]`` (nothing else)."""
        name, version = catalog.parse_spec(spec)
        return catalog.choose(self.usable(), name, version, category=category,
                              skipped=sorted(self.skipped))

    def install_offer(self, offer: Offer, *, deps: bool = True, allow_downgrade: bool = False,
                      force: bool = False, transfer_owner: bool = False) -> InstallOutcome:
        from pepperpy.plugins.incoming import Incoming
        from pepperpy.plugins.install import install_bundle, installed_path

        options: dict[str, Any] = {"allow_downgrade": allow_downgrade, "force": force,
                                   "transfer_owner": transfer_owner,
                                   "accept": _matches(offer)}
        installed = self._installed_copy(offer, allow_downgrade=allow_downgrade)
        if installed is not None:
            # Already installed and intact: no download, but the same checks as any
            # install (a revoked key or digest, a key trusted for other plugins only).
            # A damaged or missing copy is fetched again below.
            result = install_bundle(installed, settings=self.settings, **options)
            return self._finish(offer, result, deps=deps)
        client = self._downloading(offer)
        incoming = Incoming.open(self.settings, offer.length,
                                 installed_path(self.settings, offer.name))  # None: memory
        try:
            result = self._install_target(offer, client, incoming, options)
        finally:
            if incoming is not None:
                incoming.close()
        return self._finish(offer, result, deps=deps)

    def check_offer(self, offer: Offer, plan: Any, held: contextlib.ExitStack) -> Any:
        """``install_offer``'s download and checks, into ``plan`` (``plugin install A B``
        checks every target before the first install): the ``Checked`` bundle, whose
        received file ``held`` closes."""
        from pepperpy.plugins.incoming import Incoming
        from pepperpy.plugins.install import installed_path

        installed = self._installed_copy(offer, allow_downgrade=False)
        if installed is not None:
            return plan.check_file(installed, accept=_matches(offer))
        client = self._downloading(offer)
        incoming = Incoming.open(self.settings, offer.length,
                                 installed_path(self.settings, offer.name))
        if incoming is not None:
            held.callback(incoming.close)
        return self._install_target(offer, client, incoming, {"accept": _matches(offer)},
                                    plan=plan)

    def _installed_copy(self, offer: Offer, *, allow_downgrade: bool) -> Path | None:
        """The installed file when it is this offer's bytes, intact; refuses an older
        version before any download."""
        from pepperpy.plugins.install import installed_path

        current = installed_plugins(self.settings).get(offer.name)
        if current is not None and not allow_downgrade and _older(offer.version, current[0]):
            from pepperpy.plugins.install import older_than_installed

            raise older_than_installed(offer.name, offer.version, current[0])  # no download
        installed = installed_path(self.settings, offer.name)
        if current is not None and current[1] == offer.sha256 == _digest_of(installed):
            return installed
        return None

    def _downloading(self, offer: Offer) -> IndexClient:
        client = self.client(offer.index)
        if self.progress:
            self.progress(f"downloading {offer.path} ({offer.length} bytes) from index "
                          f"{offer.index!r}")
        return client

    def _install_target(self, offer: Offer, client: IndexClient, incoming: Any,
                        options: dict[str, Any], *, plan: Any = None) -> Any:
        """Steps 4 and 5 of the module docstring: the install's result (with ``plan``,
        the bundle checked into it, not installed)."""
        from pepperpy.plugins.install import install_bytes, install_incoming

        target = client.fetch(offer, incoming)
        listed = options.pop("accept")

        def accept(verified: Any) -> None:
            target.check(verified.digest)  # the bytes the index signed, before all else
            listed(verified)

        try:
            if plan is not None and incoming is not None:
                result = plan.check_incoming(incoming, origin=offer.path, accept=accept)
            elif plan is not None:
                result = plan.check_bytes(target.data, origin=offer.path, accept=accept)
            elif incoming is not None:
                result = install_incoming(incoming, origin=offer.path,
                                          settings=self.settings, accept=accept, **options)
            else:
                result = install_bytes(target.data, origin=offer.path,
                                       settings=self.settings, accept=accept, **options)
        except UntrustedPublisherError as exc:
            target.refuse_unless_signed(exc)
            raise UntrustedPublisherError(
                f"{offer.name} {offer.version} from index {offer.index!r} is signed by "
                f"key {exc.key_id or offer.key_id} ({offer.publisher or 'unknown'}), "
                "which this machine does not trust; an index never makes a publisher "
                "trusted. If you trust them, run `pepperpy trust add PUBLISHER.pub` (or "
                f"re-add the index with --trust-publishers)",
                plugin=offer.name, key_id=exc.key_id,
            ) from exc
        except PepperpyError as exc:
            target.refuse_unless_signed(exc)
            _name_the_offer(exc, offer)
            raise
        return result

    def _finish(self, offer: Offer, result: Any, *, deps: bool) -> InstallOutcome:
        if deps:
            from pepperpy.plugins.install import install_dependencies

            install_dependencies(result, settings=self.settings, progress=self.progress)
        return InstallOutcome(offer, result.action, result)

    def outdated(self) -> list[Outdated]:
        """Installed plugins for which an index offers a newer usable version, and those
        whose installed version an index yanked."""
        offers = catalog.first_index_wins(self.offers(stale_ok=True),
                                          [c.name for c in self.configs])
        return outdated_rows(offers, installed_plugins(self.settings),
                             _trust_snapshot(self.settings))

    def update(self, names: list[str] | None = None, *, deps: bool = True
               ) -> list[InstallOutcome]:
        """Install the newest usable version of each named (default: every outdated)
        installed plugin."""
        from pepperpy.plugins.state import needs_settling

        if needs_settling(self.settings):  # an interrupted update is finished (or undone)
            from pepperpy.plugins.install import settle_now

            settle_now(self.settings)
        installed = installed_plugins(self.settings)
        for name in names or ():
            if name not in installed:
                installed_names = ", ".join(sorted(installed)) or "none"
                raise PluginNotFoundError(
                    f"no installed plugin is named {name!r} (installed: {installed_names}); "
                    "`plugin update` takes installed plugin names (see `pepperpy plugin "
                    f"list`), and `pepperpy plugin install {name}` installs a new one",
                    plugin=name,
                )
        newest = catalog.newest_by_name(self.usable())
        outcomes = []
        for row in self.outdated():
            offer = newest.get(row.name)
            if (names and row.name not in names) or offer is None:
                continue
            if catalog.newer(offer.version, row.installed):  # a yank alone: not an update
                outcomes.append(self.install_offer(offer, deps=deps))
        return outcomes


def outdated_rows(offers: list[Offer], installed: dict[str, tuple[str, str]],
                  trust: TrustSnapshot | None = None) -> list[Outdated]:
    """What ``plugin outdated`` lists, from offers already chosen by index order; with
    ``trust``, a newer version this machine would refuse says why instead of offering
    the update."""
    newest = catalog.newest_by_name(offers)
    rows = []
    for name, (version, _digest) in sorted(installed.items()):
        offer = newest.get(name)
        pulled = next((o for o in offers if o.name == name and o.version == version
                       and o.yanked), None)
        refused = _signer_refused(offer, trust) if offer is not None else ""
        if pulled is not None:
            rows.append(_yanked_row(name, version, pulled, offer, refused))
        elif offer is not None and catalog.newer(offer.version, version):
            rows.append(Outdated(name, version, offer.version, offer.index, fix=refused))
    return rows


def _signer_refused(offer: Offer, trust: TrustSnapshot | None) -> str:
    """Why an install of ``offer`` would be refused for its signing key ("" if not)."""
    if trust is None or not offer.key_id:  # a catalog from before keys were listed
        return ""
    held = trust.get(offer.key_id)
    signed = (f"{offer.version} is signed by key {offer.key_id[:16]} "
              f"({offer.publisher or 'unnamed publisher'}), ")
    fix = (f": `pepperpy index trust {offer.index}` shows the key and trusts it, or "
           f"`pepperpy trust add PUBFILE` with the .pub its publisher gave you")
    if held is None:
        return signed + "which this machine does not trust" + fix
    if held.revoked:
        return (signed + "which your trust store revoked, so it cannot be installed; "
                f"`pepperpy plugin remove {offer.name}`, or keep it knowingly")
    plain = {o for o in held.only or () if "@" not in o}
    slot = f"{offer.name}@{offer.category}/{offer.provider_name}"
    if held.only is not None and offer.name not in plain and slot not in held.only:
        return signed + "which this machine trusts for other plugins only" + fix
    return ""


def _yanked_row(name: str, version: str, pulled: Offer, best: Offer | None,
                refused: str) -> Outdated:
    if best is None:
        fix = (f"no usable version is left; `pepperpy plugin remove {name}`, or keep it "
               "knowingly")
    elif catalog.newer(best.version, version):
        fix = refused or f"pepperpy plugin update {name}"
    else:
        fix = f"pepperpy plugin install {name}=={best.version} --allow-downgrade"
    return Outdated(name, version, best.version if best else "", pulled.index, True,
                    pulled.yanked_reason, fix)


def yanked_installed(settings: Settings) -> dict[str, Outdated]:
    """Installed plugins whose version an index yanked, from the indexes' last refresh
    (no network): what ``plugin list`` flags."""
    store = IndexStore(settings)
    configs = store.list()
    offers = [_offer_from_row(c.name, row) for c in configs
              for row in store.load_catalog(c.name, max_age=float("inf")) or ()]
    offers = catalog.first_index_wins(offers, [c.name for c in configs])
    rows = outdated_rows(offers, installed_plugins(settings), _trust_snapshot(settings))
    return {r.name: r for r in rows if r.yanked}


def _trust_snapshot(settings: Settings) -> TrustSnapshot:
    from pepperpy.bundle.trust import TrustStore

    return TrustStore(settings.trust_file).snapshot()


@contextlib.contextmanager
def private_folder(spool: Path, prefix: str) -> Iterator[Path]:
    """A fresh folder in the private spool (mode 0700), removed afterwards; a crash
    leaves it to ``clean_spool`` (the next command, or ``plugin doctor --fix``)."""
    import fcntl
    import shutil
    import tempfile

    ensure_folder(spool, root=spool.parent.parent, mode=0o700)  # PEPPERPY_HOME
    folder = Path(tempfile.mkdtemp(dir=spool, prefix=prefix))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # in use: cleaning leaves it alone
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def installed_plugins(settings: Settings) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) of installed plugins (the install records)."""
    from pepperpy.plugins.state import load_state

    state = load_state(settings.state_file)
    return {n: (r.version, r.digest) for n, r in state.plugins.items()}


def _digest_of(path: Path) -> str | None:
    """SHA-256 of a bundle file (a regular file only, bounded), or None if unreadable."""
    import hashlib

    from pepperpy.core import PepperpyError
    from pepperpy.trust.gate import read_bundle

    try:
        return hashlib.sha256(read_bundle(path)).hexdigest()
    except PepperpyError:
        return None


def _older(version: str, installed: str) -> bool:
    """Whether the index offers an older version than installed (the install's own
    check decides anything else, after the download)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) < Version(installed)
    except InvalidVersion:
        return False


def _name_the_url(exc: BaseException, url: str) -> None:
    """An index that ``index add`` could not reach is not recorded: its error points at
    the URL given, not at ``index list``, which does not show it."""
    from pepperpy.distribution.client import CHECK_THE_URL

    if isinstance(exc, IndexUnavailableError) and exc.args:
        exc.args = (str(exc.args[0]).replace(
            CHECK_THE_URL, f"and the URL given ({url}), then run `pepperpy index add` "
            "again; nothing was added"), *exc.args[1:])


def _name_the_offer(exc: PepperpyError, offer: Offer) -> None:
    """A fix the install policy words for a file (``pepperpy plugin install FILE
    --transfer-owner``) names the index's offer instead: the download has no file."""
    command = f"pepperpy plugin install {offer.path} "
    if exc.args and command in str(exc.args[0]):
        text = str(exc.args[0]).replace(
            command, f"pepperpy plugin install {offer.name}=={offer.version} ")
        exc.args = (text, *exc.args[1:])


def _matches(offer: Offer) -> Any:
    """A check that the signed manifest is what the index listed: name, version,
    category and provider. An index (or one of several) that lists a publisher's old
    bundle under a new version must not freeze or roll back a plugin."""
    from pepperpy.core import IndexRefusedError

    def accept(verified: Any) -> None:
        m = verified.manifest
        listed = (offer.name, offer.version, offer.category, offer.provider_name)
        signed = (m.name, m.version, m.category, m.provider_name)
        if listed != signed:
            raise IndexRefusedError(
                f"index {offer.index!r} lists {offer.path} as {' '.join(listed)}, but the "
                f"bundle's signed manifest says {' '.join(signed)}: refused "
                "(arbitrary-package); nothing was installed. Tell the index's operator, and "
                "remove the index with `pepperpy index remove` if you no longer trust it",
                threat="arbitrary-package", index=offer.index, plugin=offer.name)

    return accept


def _max_age() -> float:
    value = os.environ.get(SEARCH_MAX_AGE_ENV, "").strip()
    if not value:
        return 300.0
    if value == "0":
        return 0.0
    return parse_duration(value, what=SEARCH_MAX_AGE_ENV).total_seconds()


def _offer_from_row(index: str, row: Any) -> Offer:
    offer = catalog.offer_from_row(index, row)
    if offer is None:
        raise ConfigurationError(
            f"the catalog of index {index!r} is corrupt; run `pepperpy plugin search "
            "--refresh`"
        )
    return offer

