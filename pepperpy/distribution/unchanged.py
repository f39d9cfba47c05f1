"""A refresh that proves an index unchanged since its last verified refresh, without
loading the TUF client (whose import costs more than the refresh itself).

After every full refresh (ngclient, under the store lock) :func:`remember` writes
``NAME/metadata-verified.json``: the metadata URL, the trusted root's version and the
SHA-256 of ``metadata/{root,timestamp,snapshot,targets}.json`` exactly as ngclient left
them. Before ngclient writes anything on the next full refresh, :func:`forget` removes
it, so a crash mid-refresh never leaves a record vouching for half-written files.

:func:`check` answers only if all of these hold, else ``None`` and the caller runs the
full workflow (which then gives the proper error):

- the record parses, names this metadata URL and the pinned root it started from, and
  each local file hashes to its digest (so they are the very files ngclient verified
  together);
- the index answers 404 or 403 for root version N+1 (no rotation, ngclient's rule),
  and no N+1 root waits in the local root history;
- the index's ``timestamp.json`` (within ngclient's length limit) is byte for byte the
  local one: the signature already verified, the same version (no rollback);
- root, timestamp, snapshot and targets are unexpired now (ngclient's rule, UTC);
- targets delegates nothing (ngclient would walk the delegations).

That is ngclient's outcome for the same files and answers: an equal timestamp is kept,
and the cached snapshot and targets it names are loaded as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from pepperpy._sha import sha256  # hashlib's; OpenSSL only once loaded or for long files
from pepperpy.distribution.config import FetchLimits

__all__ = ["RECORD", "Unchanged", "check", "forget", "remember"]

RECORD = "metadata-verified.json"
_ROLES = ("root", "timestamp", "snapshot", "targets")
_LIMITS = {"root": 512_000, "timestamp": 16_384, "snapshot": 2_000_000,
           "targets": 5_000_000}  # ngclient's UpdaterConfig defaults, as the store's
_RECORD_LIMIT = 4096
# tuf's only format, in ASCII digits: strptime also reads other scripts' digits (a
# year in Arabic-Indic digits parses, and the signature covers the ASCII form), which
# would compare as text above any ASCII date, so an expiry that never passes (a freeze)
_EXPIRES = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class TargetInfo:
    """One target of the verified targets role: the fields install reads from
    ngclient's ``TargetFile``. (Plain classes here: a dataclass costs more to define
    than this module's work.)"""

    __slots__ = ("custom", "hashes", "length", "path")

    def __init__(self, path: str, length: int, hashes: dict[str, str], custom: Any) -> None:
        self.path, self.length, self.hashes, self.custom = path, length, hashes, custom


class Unchanged:
    """The index's verified state, read from the local files the record vouches for."""

    __slots__ = ("consistent_snapshot", "targets")

    def __init__(self, targets: dict[str, Any], consistent_snapshot: bool) -> None:
        self.targets, self.consistent_snapshot = targets, consistent_snapshot

    def targetinfo(self, path: str) -> TargetInfo | None:
        """As ``Updater.get_targetinfo`` without delegations; None if unlisted or not a
        well-formed target (the caller then refuses, as for one ngclient does not know)."""
        raw = self.targets.get(path)
        if not isinstance(raw, dict):
            return None
        length, hashes = raw.get("length"), raw.get("hashes")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0 \
                or not isinstance(hashes, dict) or not hashes \
                or not all(isinstance(v, str) for v in hashes.values()):
            return None
        return TargetInfo(path, length, dict(hashes), raw.get("custom"))


def remember(folder: Path, metadata_url: str, *, pinned: bytes, root: Path) -> None:
    """After a full refresh from the ``pinned`` root verified ``folder/metadata``:
    record what it verified (best effort: without a record, refreshes are full)."""
    from pepperpy.core import PepperpyError
    from pepperpy.fsio import atomic_write

    metadata = folder / "metadata"
    digests = {role: sha256((metadata / f"{role}.json").read_bytes()).hexdigest()
               for role in _ROLES}
    version = json.loads((metadata / "root.json").read_bytes())["signed"]["version"]
    data = json.dumps({"version": 1, "metadata_url": metadata_url, "root_version": version,
                       "pinned": sha256(pinned).hexdigest(), "sha256": digests},
                      sort_keys=True).encode()
    with contextlib.suppress(PepperpyError):  # a cache: the next refresh is a full one
        atomic_write(folder / RECORD, data, mode=0o600, root=root, durable=False)


def forget(folder: Path) -> None:
    """Before ngclient writes into ``folder/metadata``: no record outlives its files."""
    from pepperpy.fsio import remove_file, state_error

    try:
        remove_file(folder / RECORD)
    except OSError as exc:  # a folder planted there, or no permission
        raise state_error(folder / RECORD, f"(the record of the last verified refresh) "
                          f"cannot be removed ({exc.strerror})",
                          "remove it; the next refresh verifies the index in full") from None


def check(folder: Path, metadata_url: str, limits: FetchLimits, *,
          pinned: bytes, log: list[str] | None = None) -> Unchanged | None:
    """The verified state of the index if nothing changed there since a full refresh
    from the ``pinned`` root, else None. ``log`` gets the URLs asked for.

    A slow index (``SlowRetrievalError``: no answer, a stall, the deadline passed) is
    raised, not doubt: the full workflow would ask the same first question and wait as
    long again before reporting the same slow retrieval. That fails closed; it never
    concludes "unchanged"."""
    try:
        return _check(folder, metadata_url, limits, pinned, [] if log is None else log)
    except Exception as exc:  # any other doubt (damage, network, a surprise): the full
        if type(exc).__name__ == "SlowRetrievalError" and _slow(exc):  # workflow
            raise
        return None


def _slow(exc: Exception) -> bool:
    from tuf.api.exceptions import SlowRetrievalError  # loaded: the download raised it

    return isinstance(exc, SlowRetrievalError)


def _check(folder: Path, metadata_url: str, limits: FetchLimits,
           pinned: bytes, requests: list[str]) -> Unchanged | None:
    record = json.loads(_read(folder / RECORD, _RECORD_LIMIT, follow=False))
    digests = record["sha256"]
    if record.get("version") != 1 or record.get("metadata_url") != metadata_url \
            or record.get("pinned") != sha256(pinned).hexdigest() \
            or not isinstance(digests, dict):
        return None
    raw: dict[str, bytes] = {}
    signed: dict[str, Any] = {}
    for role in _ROLES:
        raw[role] = _read(folder / "metadata" / f"{role}.json", _LIMITS[role], follow=True)
        expected = digests.get(role)
        if not isinstance(expected, str) or not _SHA256.fullmatch(expected) or \
                sha256(raw[role]).hexdigest() != expected:
            return None
        signed[role] = json.loads(raw[role])["signed"]
    if any(_expired(signed[role].get("expires")) for role in _ROLES):
        return None  # ngclient reports the freeze
    version = signed["root"]["version"]
    if not isinstance(version, int):
        return None
    if os.path.lexists(folder / "metadata" / "root_history" / f"{version + 1}.root.json"):
        return None  # ngclient would try the local one first
    if signed["targets"].get("delegations") is not None:
        return None
    targets = signed["targets"].get("targets")
    consistent = signed["root"].get("consistent_snapshot", False)
    if not isinstance(targets, dict) or not isinstance(consistent, bool):
        return None
    if not _absent(f"{metadata_url}{version + 1}.root.json", limits, requests):
        return None
    from pepperpy.distribution.download import download

    served = download(f"{metadata_url}timestamp.json", _LIMITS["timestamp"], limits,
                      log=requests)
    if served != raw["timestamp"]:
        return None
    if any(_expired(signed[role].get("expires")) for role in _ROLES):
        return None  # expired while the index answered
    return Unchanged(targets, consistent)


def _absent(url: str, limits: FetchLimits, requests: list[str]) -> bool:
    """The index has no such file: HTTP 404 or 403, as ngclient reads the end of the
    root chain. Anything else (a body, 5xx, no answer) is doubt."""
    from pepperpy.distribution.download import answer

    status, _ = answer(url, _LIMITS["root"], limits, log=requests)
    return status in (403, 404)


def _expired(expires: Any) -> bool:
    """ngclient's ``is_expired``: now >= expires, UTC; an odd value counts as expired
    (the full workflow then judges it). Same-format strings compare as times."""
    if not isinstance(expires, str) or not _EXPIRES.fullmatch(expires):
        return True
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) >= expires


def _read(path: Path, limit: int, *, follow: bool) -> bytes:
    """A regular file of at most ``limit`` bytes (the record: never through a link)."""
    import stat

    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            raise ValueError(f"{path} is not a plain file of at most {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path} grew past {limit} bytes")
    return data
