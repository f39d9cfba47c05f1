"""The result of verification: a bundle whose bytes are the bytes that were signed.

A small module of its own so that loading a bundle found in the verified cache
(``plugins/verified_cache.py``) needs this type without importing the verifier and the
cryptography it uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from pepperpy._record import record
from pepperpy.bundle import zipformat as zf

if TYPE_CHECKING:
    from pepperpy.bundle.model import PluginManifest

__all__ = ["Contents", "FileInfo", "VerifiedBundle"]


@record
class FileInfo:
    name: str
    size: int
    sha256: str


@record
class VerifiedBundle:
    """A bundle that passed every check. ``data`` is the exact verified file content.

    ``files`` (each entry's size and sha256) is filled by :func:`verify_bundle`; a bundle
    taken from the verified cache (``plugins/verified_cache.py``) has the same bytes but
    leaves it empty. ``entries`` maps each file name to its content, read from ``data``.
    """

    manifest: PluginManifest
    manifest_bytes: bytes
    digest: str
    key_id: str
    publisher: str
    data: bytes
    files: tuple[FileInfo, ...] = ()

    @cached_property
    def entries(self) -> Mapping[str, bytes]:
        entries = zf.parse_archive(self.data)[:-1]
        inflated = {e.name: bytes(zf.read_entry(self.data, e)) for e in entries
                    if e.method != zf.STORED}
        return Contents(self.data, {e.name: e for e in entries if e.method == zf.STORED},
                         inflated, [e.name for e in entries])

    def __repr__(self) -> str:
        return (f"<VerifiedBundle {self.manifest.name} {self.manifest.version} "
                f"key={self.key_id[:16]} sha256={self.digest[:16]}>")


class Contents(Mapping[str, bytes]):
    """Entry contents by name: inflated entries kept, stored ones sliced on access."""

    def __init__(self, data: bytes, stored: dict[str, zf.ZipEntry],
                 inflated: dict[str, bytes], order: list[str]) -> None:
        self._data, self._stored, self._inflated, self._order = data, stored, inflated, order

    def __getitem__(self, name: str) -> bytes:
        if name in self._inflated:
            return self._inflated[name]
        e = self._stored[name]
        return self._data[e.data_offset: e.data_offset + e.size]

    def __contains__(self, name: object) -> bool:
        return name in self._stored or name in self._inflated

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)
