"""``pepperpy index mirror NAME DIR``: a verified snapshot of an index, as static files.

The mirror holds exactly the bytes ngclient verified in this refresh (metadata copied
from its cache, bundles downloaded through its length and hash checks), laid out as the
publisher's repository is, so clients that pinned the same root can use it over HTTP or
as a ``file://`` URL. Bundles first, metadata after, ``timestamp.json`` last: a client
reading the mirror while it is written sees the old state or the new one.

Invariants:
- every download lands in the private spool (``PEPPERPY_HOME/indexes/spool``) and moves
  into the mirror only after ngclient checked its length and hashes;
- every file is written through :func:`pepperpy.fsio.atomic_write` confined to DIR: a
  link planted in the mirror (a folder, a bundle, a temp file) is refused by name and
  nothing outside DIR changes;
- a target's file name is built only from fields the catalog checked (a 64-digit hex
  digest and a ``name-version.pepperplugin`` path), so a hostile index cannot name a
  path outside ``DIR/targets``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from pepperpy.distribution.client import translate_errors
from pepperpy.distribution.fetch import Session, private_folder
from pepperpy.fsio import atomic_write, read_state
from pepperpy.settings import Settings

__all__ = ["mirror_index"]

_METADATA_LIMIT = 64 << 20  # ngclient's own bound on metadata files


def mirror_index(settings: Settings, name: str, dest: Path, *,
                 progress: Callable[[str], None] | None = None) -> int:
    """Refresh ``name``, then copy its metadata and every bundle into ``dest``."""
    from tuf.api.metadata import Metadata, Snapshot, Timestamp

    session = Session(settings, index=name, progress=progress)
    offers = session.offers()
    client = session.client(name)
    cache = client.metadata_dir
    dest = Path(dest).absolute()
    if client.unchanged is not None:  # the quick refresh answered: ngclient's own, now
        offers = client.full_refresh()
    updater = client._open()
    with private_folder(session.store.spool_dir, "mirror-") as spool:
        for offer in offers:
            target = dest / "targets" / f"{offer.sha256}.{offer.path}"
            with translate_errors(name, target=offer.path):
                info = updater.get_targetinfo(offer.path)  # type: ignore[attr-defined]
                if info is None or _intact(target, offer.length, offer.sha256):
                    continue
                if progress:
                    progress(f"mirroring {offer.path} ({offer.length} bytes)")
                spooled = updater.download_target(  # type: ignore[attr-defined]
                    info, filepath=str(spool / offer.path))
            atomic_write(target, Path(spooled).read_bytes(), root=dest)
            os.unlink(spooled)

    def cached(file: Path) -> bytes:
        data = read_state(file, what="index metadata", limit=_METADATA_LIMIT,
                          fix=f"run `pepperpy index mirror {name} DIR` again")
        if data is None:
            raise FileNotFoundError(2, "missing", str(file))
        return data

    timestamp_raw = cached(cache / "timestamp.json")
    snapshot_raw = cached(cache / "snapshot.json")
    targets_raw = cached(cache / "targets.json")
    snapshot_version = Metadata[Timestamp].from_bytes(timestamp_raw).signed.snapshot_meta.version
    targets_version = Metadata[Snapshot].from_bytes(snapshot_raw).signed.meta[
        "targets.json"].version
    metadata = dest / "metadata"
    for root in sorted((cache / "root_history").glob("*.root.json")):
        atomic_write(metadata / root.name, cached(root), root=dest)
    atomic_write(metadata / f"{targets_version}.targets.json", targets_raw, root=dest)
    atomic_write(metadata / f"{snapshot_version}.snapshot.json", snapshot_raw, root=dest)
    atomic_write(metadata / "timestamp.json", timestamp_raw, root=dest)
    return len(offers)


def _intact(path: Path, length: int, sha256: str) -> bool:
    """Whether ``path`` is a plain file (not a link) with the listed length and hash."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != length:
            return False
        return hashlib.sha256(handle.read(length + 1)).hexdigest() == sha256
