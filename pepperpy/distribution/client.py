"""One ``tuf.ngclient.Updater`` per configured index, with TUF errors translated.

ngclient does every TUF check (expiry, rollback, mix-and-match, signatures against the
pinned root, lengths, hashes); this module only wires it to PepperPy's folders and
fetcher, and turns each failure into a ``PepperpyError`` that names the threat:

=============================  ===================  ==============================
ngclient error                 threat               PepperPy error
=============================  ===================  ==============================
ExpiredMetadataError           freeze               IndexRefusedError
BadVersionNumberError          rollback             IndexRefusedError
LengthOrHashMismatchError      mix-and-match        IndexRefusedError (metadata)
LengthOrHashMismatchError      arbitrary-package    IndexRefusedError (a bundle)
UnsignedMetadataError          untrusted-metadata   IndexRefusedError
DownloadLengthMismatchError    endless-data         IndexRefusedError
SlowRetrievalError             slow-retrieval       IndexRefusedError
other RepositoryError          invalid-metadata     IndexRefusedError
DownloadHTTPError, DownloadE.  (unreachable)        IndexUnavailableError
=============================  ===================  ==============================

The offers of an index come from ``metadata/targets.json`` right after a refresh
verified it (under the store lock); before a download, the chosen target is looked up
again through ``Updater.get_targetinfo`` and must match, so a choice never rests on an
unverified file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pepperpy.core import (
    IndexRefusedError,
    IndexUnavailableError,
    PepperpyError,
    StateError,
)
from pepperpy.distribution import unchanged
from pepperpy.distribution.catalog import Offer, offers_from, yanked_error
from pepperpy.distribution.config import FetchLimits
from pepperpy.distribution.store import IndexConfig, IndexStore
from pepperpy.distribution.unchanged import Unchanged
from pepperpy.fsio import ensure_folder

__all__ = ["IndexClient", "Target", "translate_errors"]

_THREATS = {
    "freeze": "the index's metadata has expired (a freeze attack, or the publisher's "
              "`pepperpy repo refresh` cron job stopped)",
    "rollback": "the index served metadata older than metadata this machine has already "
                "seen (a rollback attack)",
    "mix-and-match": "the index's metadata files do not match each other (a mix-and-match "
                     "attack, or a half-synchronised mirror)",
    "arbitrary-package": "the downloaded bundle's bytes differ from what the index signed "
                         "(an arbitrary-package attack, or a corrupted mirror)",
    "untrusted-metadata": "the index's metadata is not signed by the keys its pinned root "
                          "names (forged metadata, or a root rotation without the old key)",
    "endless-data": "the server sent more bytes than the signed metadata allows (an "
                    "endless-data attack)",
    "slow-retrieval": "the server stalled or sent too slowly (a slow-retrieval attack, or "
                      "a network problem)",
    "invalid-metadata": "the index served metadata that is not valid TUF metadata",
}


@contextlib.contextmanager
def translate_errors(index: str, *, target: str | None = None,
                     url: str | None = None) -> Iterator[None]:
    """Turn ngclient's exceptions into PepperPy's, naming the threat and the fix."""
    try:
        yield
    except PepperpyError:
        raise
    except Exception as exc:
        # imported only on failure: a refresh that finds nothing changed never loads TUF
        from tuf.api import exceptions as tuf_errors

        if not isinstance(exc, tuf_errors.RepositoryError | tuf_errors.DownloadError):
            raise
        raise _translated(exc, tuf_errors, index, target, url) from exc


def _translated(exc: Exception, tuf_errors: Any, index: str, target: str | None,
                url: str | None) -> PepperpyError:
    """The ``PepperpyError`` for one of ngclient's errors (table above)."""
    if isinstance(exc, tuf_errors.DownloadLengthMismatchError):
        return _refused("endless-data", index, target, exc)
    if isinstance(exc, tuf_errors.SlowRetrievalError):
        return _refused("slow-retrieval", index, target, exc)
    if isinstance(exc, tuf_errors.DownloadHTTPError):
        hint = (" (is the URL the folder that holds metadata/ and targets/?)"
                if exc.status_code == 404 else "")
        return IndexUnavailableError(
            f"index {index!r}: HTTP {exc.status_code} for {target or 'metadata'}{hint}; "
            "check the URL with `pepperpy index list`, retry later", index=index,
        )
    if isinstance(exc, tuf_errors.DownloadError):
        return IndexUnavailableError(_unreachable(index, url, exc), index=index)
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        return _refused("freeze", index, target, exc)
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return _refused("rollback", index, target, exc)
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        threat = "arbitrary-package" if target else "mix-and-match"
        return _refused(threat, index, target, exc)
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return _refused("untrusted-metadata", index, target, exc)
    return _refused("invalid-metadata", index, target, exc)


def _short(exc: BaseException) -> str:
    """ngclient's message, bounded and escaped: it may quote bytes a server sent."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause):
        text = f"{text} ({str(cause)[:200]})"
    text = " ".join(text.split())[:300]
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _unreachable(index: str, url: str | None, exc: BaseException) -> str:
    """One readable line: where, what failed at the socket, what to check."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    where = ""
    if url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            where = f" at {parts.path}"
        else:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            where = f" at {parts.hostname}:{port}"
    what, check = _cause(exc, socket, ssl)
    return f"index {index!r} cannot be reached{where}: {what}; {check}, {CHECK_THE_URL}"


CHECK_THE_URL = "and the URL (`pepperpy index list`), then retry"


def _cause(exc: BaseException, socket: object, ssl: object) -> tuple[str, str]:
    """The first socket-level cause in ``exc``'s chain, in words."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused", "check that the index's server is running"
        if isinstance(seen, socket.gaierror):  # type: ignore[attr-defined]
            return "the host name does not resolve", "check the host name and DNS"
        if isinstance(seen, ssl.SSLError):  # type: ignore[attr-defined]
            return (f"TLS failed ({getattr(seen, 'reason', None) or 'handshake'})",
                    "check the server's certificate")
        if isinstance(seen, TimeoutError):
            return "the connection timed out", "check the network and firewall"
        if isinstance(seen, ConnectionError):
            return "the connection was reset", "check the network and the server"
        if isinstance(seen, FileNotFoundError):
            return "the folder does not exist", "check the folder"
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (
            seen.__cause__ or seen.__context__)
    return _short(exc), "check the network or the folder"


def _refused(threat: str, index: str, target: str | None, exc: BaseException) -> IndexRefusedError:
    what = f"download of {target}" if target else "refresh"
    return IndexRefusedError(
        f"index {index!r}: {what} refused: {_THREATS[threat]} [{threat}: {_short(exc)}]. "
        "Nothing was installed or changed. If it persists, tell the index operator; "
        "never work around it by removing the pinned root",
        threat=threat, index=index,
    )


class IndexClient:
    """Refresh one index and download its targets. One refresh per instance (ngclient)."""

    def __init__(self, store: IndexStore, config: IndexConfig, *,
                 folder: Path | None = None, limits: FetchLimits | None = None) -> None:
        self.store = store
        self.config = config
        self.folder = folder or store.index_dir(config.name)
        self.limits = limits or FetchLimits.from_env()
        self._fetcher: Any = None
        self._asked: list[str] = []  # by the quick check and its downloads
        self._updater: object | None = None
        #: set when the last refresh proved the index unchanged without ngclient
        self.unchanged: Unchanged | None = None

    @property
    def requests(self) -> list[str]:
        """The URLs this client asked for, in order: the quick check's, then ngclient's
        (tests and benches)."""
        return [*self._asked, *(self._fetcher.requests if self._fetcher is not None else ())]

    @property
    def fetcher(self) -> Any:
        """ngclient's fetcher (``IndexFetcher``), made on first use: its module loads
        the TUF client, which a refresh that finds nothing changed never needs."""
        if self._fetcher is None:
            from pepperpy.distribution.fetcher import IndexFetcher

            self._fetcher = IndexFetcher(limits=self.limits, spool_dir=self.store.spool_dir)
        return self._fetcher

    @property
    def metadata_dir(self) -> Path:
        return self.folder / "metadata"

    def _open(self) -> object:
        if self._updater is None:
            from tuf.api.exceptions import RepositoryError
            from tuf.ngclient import Updater, UpdaterConfig

            root = self._check_local()
            ensure_folder(self.metadata_dir, root=self.store.settings.home)
            unchanged.forget(self.folder)  # before ngclient writes anything
            with translate_errors(self.config.name, url=self.config.url), \
                    self._writing_metadata():
                try:
                    self._updater = Updater(
                        metadata_dir=str(self.metadata_dir),
                        metadata_base_url=self.config.metadata_url,
                        target_base_url=self.config.targets_url,
                        fetcher=self.fetcher,
                        config=UpdaterConfig(app_user_agent="pepperpy"),
                        bootstrap=root,
                    )
                except (ValueError, KeyError, TypeError, RepositoryError) as exc:
                    # the constructor reads only the pinned root: this is local
                    raise StateError(
                        f"{self.folder / 'root.json'} (the pinned root of index "
                        f"{self.config.name!r}) is damaged: not a TUF root ({_short(exc)}); "
                        "this is local damage, not the index's fault: remove the index "
                        f"(`pepperpy index remove {self.config.name}`) and add it again "
                        "with the root file you trust", path=str(self.folder / "root.json"),
                    ) from exc
        return self._updater

    def full_refresh(self) -> list[Offer]:
        """After a quick refresh, ngclient's full workflow after all (``index mirror``
        downloads through its ``Updater``), under the store's lock as every refresh: an
        Updater left unrefreshed would refresh itself on first use, without the lock."""
        with self.store.locked():
            self.unchanged = None
            self._open()
            return self.refresh()

    def _check_local(self) -> bytes:
        """The pinned root; damaged local state refused by name (``StateError``)."""
        root = self.store.pinned_root(self.config.name, self.folder)
        self.store.check_cached_metadata(self.config.name, self.metadata_dir)
        return root

    def refresh(self) -> list[Offer]:
        """Run the TUF client workflow (or prove nothing changed since the last one:
        ``pepperpy.distribution.unchanged``); return the offers; save them for search."""
        if self._updater is None and self.unchanged is None:
            pinned = self._check_local()
            with translate_errors(self.config.name, url=self.config.url):  # a slow index
                self.unchanged = unchanged.check(self.folder, self.config.metadata_url,
                                                 self.limits, pinned=pinned, log=self._asked)
        if self.unchanged is not None:
            offers = offers_from(self.config.name, self.unchanged.targets)
            self._save_catalog(offers)
            return offers
        from tuf.api.metadata import Metadata, Targets

        updater = self._open()
        with translate_errors(self.config.name, url=self.config.url), \
                self._writing_metadata():
            updater.refresh()  # type: ignore[attr-defined]
            raw = (self.metadata_dir / "targets.json").read_bytes()
            targets = Metadata[Targets].from_bytes(raw).signed.targets
        unchanged.remember(self.folder, self.config.metadata_url,
                           pinned=self.store.pinned_root(self.config.name, self.folder),
                           root=self.store.settings.home)
        offers = offers_from(self.config.name, targets)
        self._save_catalog(offers)
        return offers

    @contextlib.contextmanager
    def _writing_metadata(self) -> Iterator[None]:
        """ngclient writes its cache itself: a full disk there names the folder (never
        ngclient's temporary file) and leaves the last verified metadata in place."""
        try:
            yield
        except OSError as exc:
            raise StateError(
                f"{self.metadata_dir} (the metadata cache of index {self.config.name!r}) "
                f"could not be written ({exc.strerror or exc}): nothing was changed; free "
                "some space and run the command again", path=str(self.metadata_dir),
            ) from exc

    def _save_catalog(self, offers: list[Offer]) -> None:
        self.store.save_catalog(self.config.name, [o.as_dict() for o in offers],
                                folder=self.folder)

    def confirm(self, offer: Offer) -> object:
        """The verified ``TargetFile`` for ``offer``; refuses if the index changed it."""
        info: Any
        if self.unchanged is not None:
            info = self.unchanged.targetinfo(offer.path)
        else:
            updater = self._open()
            with translate_errors(self.config.name, target=offer.path, url=self.config.url):
                info = updater.get_targetinfo(offer.path)  # type: ignore[attr-defined]
        again = offers_from(self.config.name, {offer.path: info}) if info is not None else []
        if not again or again[0].sha256 != offer.sha256:
            raise IndexUnavailableError(
                f"index {self.config.name!r} no longer offers {offer.path} as listed; run "
                "the command again", index=self.config.name,
            )
        if again[0].yanked:
            raise yanked_error(again[0])
        return info

    def fetch(self, offer: Offer, into: Any = None) -> Target:
        """The bytes of ``offer``'s bundle, in memory or, with ``into``, written to that
        unnamed file (``pepperpy.plugins.incoming.Incoming``) as they arrive, with the
        target info ngclient verified for it (``confirm``). The download stops past the
        signed length (endless data) and must have exactly that length; its hashes are
        checked by :meth:`Target.check`, from the one SHA-256 pass the gate makes
        anyway, before anything is named, imported or installed."""
        from pepperpy.trust.types import DEFAULT_LIMITS

        info: Any = self.confirm(offer)
        if info.length > DEFAULT_LIMITS.max_bundle_size:  # held in memory: bounded first
            from tuf.api.exceptions import DownloadLengthMismatchError

            raise _refused("endless-data", self.config.name, offer.path,
                           DownloadLengthMismatchError(
                               f"the signed length {info.length} is above the "
                               f"{DEFAULT_LIMITS.max_bundle_size}-byte limit of a bundle"))
        url = self.config.targets_url + _target_name(info, self._prefixed())
        write = None if into is None else into.write
        with translate_errors(self.config.name, target=offer.path, url=self.config.url):
            if self.unchanged is not None:
                from pepperpy.distribution.download import download

                data = download(url, info.length, self.limits, log=self._asked, write=write)
            elif write is not None:
                data = b""
                self.fetcher.fetch_into(url, info.length, write)
            else:
                data = self.fetcher.fetch_bytes(url, info.length)
        target = Target(self.config.name, offer.path, info, data if into is None else into)
        if (size := len(data) if into is None else into.size) != info.length:
            raise target.mismatch(f"received {size} bytes, the signed length is "
                                  f"{info.length}")
        if into is not None:
            into.received()
        return target


    def _prefixed(self) -> bool:
        """Whether target file names carry their hash (consistent snapshots)."""
        if self.unchanged is not None:  # ngclient's default prefix_targets_with_hash
            return self.unchanged.consistent_snapshot
        updater: Any = self._open()
        return bool(updater._trusted_set.root.consistent_snapshot
                    and updater.config.prefix_targets_with_hash)


def _target_name(info: Any, prefixed: bool) -> str:
    """Where ngclient's ``download_target`` would fetch ``info`` from: with consistent
    snapshots, the file name is prefixed with its (first) hash."""
    path: str = info.path
    if prefixed:
        folder, sep, name = path.rpartition("/")
        path = f"{folder}{sep}{next(iter(info.hashes.values()))}.{name}"
    return path


class Target:
    """A bundle downloaded (into memory, or an unnamed file: ``source``) and the signed
    target info it must match.

    ``check(sha256)`` is the TUF length-and-hashes check of ``download_target``, done
    with the SHA-256 the gate computed over these bytes instead of a pass of its own: the
    signed ``sha256`` must be present and equal; any other listed algorithm is hashed
    here (PepperPy's indexes list only sha256)."""

    def __init__(self, index: str, path: str, info: Any, source: Any) -> None:
        self.index, self.path, self.info, self.source = index, path, info, source

    @property
    def data(self) -> bytes:
        """The bytes, when they were downloaded into memory."""
        assert isinstance(self.source, bytes)
        return self.source

    def _digest(self, algorithm: str) -> str:
        import hashlib

        if isinstance(self.source, bytes):
            return hashlib.new(algorithm, self.source).hexdigest()
        return self.source.digest(algorithm)  # type: ignore[no-any-return]

    def check(self, sha256: str) -> None:
        hashes: dict[str, str] = dict(self.info.hashes)
        if hashes.get("sha256") != sha256:
            raise self.mismatch(f"sha256 {sha256} is not the signed "
                                f"{str(hashes.get('sha256'))[:64]}")
        for algorithm, expected in hashes.items():
            if algorithm == "sha256":
                continue
            try:
                observed = self._digest(algorithm)
            except (ValueError, TypeError):
                raise self.mismatch(f"unsupported hash algorithm {algorithm[:20]!r}") from None
            if observed != expected:
                raise self.mismatch(f"{algorithm[:20]} {observed} is not the signed "
                                    f"{str(expected)[:128]}")

    def refuse_unless_signed(self, refusal: BaseException) -> None:
        """After the gate or the policy refused these bytes: if they are not the bytes
        the index signed, that is the reason (an arbitrary package, as ngclient would
        have said before the gate ran). A second hash pass, on refusals only."""
        if isinstance(refusal, IndexRefusedError):
            return
        try:
            self.check(self._digest("sha256"))
        except IndexRefusedError as exc:
            raise exc from refusal

    def mismatch(self, what: str) -> IndexRefusedError:
        from tuf.api.exceptions import LengthOrHashMismatchError

        return _refused("arbitrary-package", self.index, self.path,
                        LengthOrHashMismatchError(what))
