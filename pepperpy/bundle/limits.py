"""Every bound PepperPy puts on bundle input, in one place (python-tuf's ``config.py``).

Invariants: each limit is checked before the work it bounds (sizes before reading,
declared sizes and ratio before inflating, manifest size before parsing). Limits are a
frozen dataclass so a caller can pass tighter ones (tests do) but nothing mutates them.
"""

from __future__ import annotations

from pepperpy._record import record

__all__ = ["DEFAULT_LIMITS", "Limits"]

MiB = 1024 * 1024


@record
class Limits:
    """Upper bounds for one bundle; defaults fit every provider we ship with room to spare."""

    #: Whole ``.pepperplugin`` file.
    max_bundle_size: int = 512 * MiB
    #: Entries in the archive, signature entry included.
    max_entries: int = 10_000
    #: One entry, uncompressed (and compressed).
    max_entry_size: int = 512 * MiB
    #: All entries together, uncompressed.
    max_total_size: int = 1024 * MiB
    #: Uncompressed / compressed, checked for entries above ``ratio_floor`` bytes.
    max_compression_ratio: int = 200
    #: Entries smaller than this may compress better than the ratio (tiny text files do).
    ratio_floor: int = 64 * 1024
    #: Bytes in one entry name.
    max_name_length: int = 255
    #: Path segments in one entry name.
    max_name_depth: int = 16
    #: ``plugin.json`` raw bytes.
    max_manifest_size: int = 256 * 1024
    #: Nesting depth of arrays/objects in ``plugin.json``.
    max_json_depth: int = 32
    #: Characters in one JSON string (key or value).
    max_json_string: int = 16 * 1024
    #: Digits in one JSON integer.
    max_json_int_digits: int = 20
    #: Entries in ``dependencies`` and in ``dependency_lock``.
    max_dependencies: int = 256
    #: Characters in one dependency string.
    max_dependency_length: int = 512
    #: ``.pepperpy-signature`` raw bytes.
    max_signature_entry_size: int = 1024


DEFAULT_LIMITS = Limits()
