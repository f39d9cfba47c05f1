"""The values the trust kernel passes around. A leaf: no I/O, no parsing, no decisions.

Every other kernel module imports its types from here, so the two decision modules
(``authentic.py``, ``admissible.py``) can use them without importing anything that reads
files. A ``PluginManifest`` is only built by :func:`from_validated`, from an object that
passed ``manifest.parse_manifest`` (or from the verified cache, which holds only such
manifests); a ``VerifiedBundle`` only by ``gate.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pepperpy._record import field, record

__all__ = ["DEFAULT_LIMITS", "Candidate", "InstallRecord", "InstallState", "Limits",
           "LockedRequirement", "PluginManifest", "TrustSnapshot", "TrustedKey", "VerifiedBundle",
           "ZipEntry", "from_validated"]

MiB = 1024 * 1024


@record
class Limits:
    """Upper bounds for one bundle, each checked before the work it bounds."""

    max_bundle_size: int = 512 * MiB  #: whole ``.pepperplugin`` file
    max_entries: int = 10_000  #: entries, signature entry included
    max_entry_size: int = 512 * MiB  #: one entry, uncompressed (and compressed)
    max_total_size: int = 1024 * MiB  #: all entries together, uncompressed
    max_compression_ratio: int = 200  #: for entries above ``ratio_floor`` bytes
    ratio_floor: int = 64 * 1024
    max_name_length: int = 255  #: bytes in one entry name
    max_name_depth: int = 16  #: path segments in one entry name
    max_manifest_size: int = 256 * 1024  #: ``plugin.json`` raw bytes
    max_json_depth: int = 32
    max_json_string: int = 16 * 1024
    max_json_int_digits: int = 20
    max_dependencies: int = 256  #: entries in ``dependencies`` and ``dependency_lock``
    max_dependency_length: int = 512
    max_signature_entry_size: int = 1024


DEFAULT_LIMITS = Limits()


@record
class ZipEntry:
    """One entry as the central directory declares it (checked against its local header)."""

    name: str
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int


@record
class LockedRequirement:
    """One hash-pinned dependency from ``dependency_lock``."""

    name: str
    version: str
    hashes: tuple[str, ...]


@record
class PluginManifest:
    """The manifest of one plugin bundle."""

    name: str
    version: str
    category: str
    provider_name: str
    entry_point: str
    description: str = ""
    author: str = ""
    pepperpy_compatibility: str | None = None
    dependencies: tuple[str, ...] = ()
    python_requires: str | None = None
    license: str | None = None
    homepage: str | None = None
    config_schema: dict[str, Any] | None = field(default=None, hash=False)
    source_builds: tuple[str, ...] = ()
    dependency_lock: tuple[LockedRequirement, ...] | None = None

    @property
    def module(self) -> str:
        """The module part of ``entry_point``."""
        return self.entry_point.split(":", 1)[0]

    @property
    def class_name(self) -> str:
        return self.entry_point.split(":", 1)[1]

    @property
    def slot(self) -> str:
        """The provider slot, ``category/provider_name``: the unit of ownership."""
        return f"{self.category}/{self.provider_name}"

def from_validated(value: dict[str, Any]) -> PluginManifest:
    """The manifest for a ``plugin.json`` object that passed the schema and field checks."""
    data: dict[str, Any] = {k: tuple(v) if k in ("dependencies", "source_builds") else v
            for k, v in value.items()}
    if data.get("dependency_lock") is not None:
        data["dependency_lock"] = tuple(
            LockedRequirement(p["name"], p["version"], tuple(p["hashes"]))
            for p in data["dependency_lock"])
    return PluginManifest(**data)


@record
class TrustedKey:
    """One trust-store record; ``revoked_at`` set means refused forever. ``weak`` is set by
    the store when it reads a small-order or non-canonical key (refused by verify)."""

    key_id: str
    publisher: str
    public_key: bytes
    added_at: str
    revoked_at: str | None = None
    scopes: tuple[str, ...] | None = None
    only: tuple[str, ...] | None = None
    weak: bool = field(default=False, compare=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@record
class TrustSnapshot:
    """An immutable view of the trust store, handed to the decisions."""

    keys: MappingProxyType[str, TrustedKey] = field(default_factory=lambda: MappingProxyType({}))
    revoked_bundles: frozenset[str] = frozenset()

    def get(self, key_id: str) -> TrustedKey | None:
        return self.keys.get(key_id)


@record
class InstallRecord:
    """One installed plugin version."""

    name: str
    version: str
    digest: str
    key_id: str
    category: str
    provider_name: str
    file: str  # file name inside Settings.plugins_dir


@record
class InstallState:
    """Everything installed, by plugin name, and the install journal (``pending``:
    ``plugins/state.py`` writes and reads it; the kernel never looks at it)."""

    plugins: Mapping[str, InstallRecord]
    pending: Mapping[str, Any] = field(default_factory=dict)

    def owner_of_provider(self, category: str, provider_name: str) -> InstallRecord | None:
        return next((rec for rec in self.plugins.values()
                     if (rec.category, rec.provider_name) == (category, provider_name)), None)


@record
class Candidate:
    """What the rules need to know of one verified bundle and where it was found."""

    manifest: PluginManifest
    digest: str
    key_id: str
    path: str
    source: str  # "installed" | "plugin-path" | "checkout" | "file" (an install argument)
    yanked: bool = False  # an index this bundle came from withdrew its version


@record
class VerifiedBundle:
    """A bundle that passed every check. ``data`` is the exact verified file content;
    ``entries`` maps each file name to its content, read from ``data`` on demand."""

    manifest: PluginManifest
    manifest_bytes: bytes
    digest: str
    key_id: str
    publisher: str
    data: bytes
    entries: Mapping[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        return (f"<VerifiedBundle {self.manifest.name} {self.manifest.version} "
                f"key={self.key_id[:16]} sha256={self.digest[:16]}>")
