"""``pepperpy index mirror NAME DIR``: a verified snapshot of an index, as static files.

The mirror holds exactly the bytes ngclient verified in this refresh (metadata copied
from its cache, bundles downloaded through its length and hash checks), laid out as the
publisher's repository is, so clients that pinned the same root can use it over HTTP or
as a ``file://`` URL. Bundles first, metadata after, ``timestamp.json`` last: a client
reading the mirror while it is written sees the old state or the new one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pepperpy.distribution.client import translate_errors
from pepperpy.distribution.fetch import Session
from pepperpy.settings import Settings

__all__ = ["mirror_index"]


def mirror_index(settings: Settings, name: str, dest: Path, *,
                 progress: Callable[[str], None] | None = None) -> int:
    """Refresh ``name``, then copy its metadata and every bundle into ``dest``."""
    from tuf.api.metadata import Metadata, Snapshot, Timestamp

    session = Session(settings, index=name, progress=progress)
    offers = session.offers()
    client = session.client(name)
    cache = client.metadata_dir
    (dest / "metadata").mkdir(parents=True, exist_ok=True)
    (dest / "targets").mkdir(parents=True, exist_ok=True)
    updater = client._open()
    for offer in offers:
        target = dest / "targets" / f"{offer.sha256}.{offer.path}"
        with translate_errors(name, target=offer.path):
            info = updater.get_targetinfo(offer.path)  # type: ignore[attr-defined]
            if info is None:
                continue
            # kept only if length and hashes match (a same-size corrupt copy is replaced);
            # is_file first: ngclient's check opens the path, and a FIFO would block
            if target.is_file() and updater.find_cached_target(  # type: ignore[attr-defined]
                    info, str(target)) is not None:
                continue
            if progress:
                progress(f"mirroring {offer.path} ({offer.length} bytes)")
            updater.download_target(info, filepath=str(target))  # type: ignore[attr-defined]
    timestamp_raw = (cache / "timestamp.json").read_bytes()
    snapshot_raw = (cache / "snapshot.json").read_bytes()
    targets_raw = (cache / "targets.json").read_bytes()
    snapshot_version = Metadata[Timestamp].from_bytes(timestamp_raw).signed.snapshot_meta.version
    targets_version = Metadata[Snapshot].from_bytes(snapshot_raw).signed.meta[
        "targets.json"].version
    for root in sorted((cache / "root_history").glob("*.root.json")):
        shutil.copyfile(root, dest / "metadata" / root.name)
    _write(dest / "metadata" / f"{targets_version}.targets.json", targets_raw)
    _write(dest / "metadata" / f"{snapshot_version}.snapshot.json", snapshot_raw)
    _write(dest / "metadata" / "timestamp.json", timestamp_raw)
    return len(offers)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
