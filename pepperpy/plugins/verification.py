"""Read a bundle file (bounded) and verify it against a trust snapshot.

The one place the plugin manager and the installer turn a path into a
``VerifiedBundle``: size checked before reading, the bytes read once, and every
later step (install copy, pin, import) uses those same bytes, never the path again.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pepperpy.core import BundleInvalidError, PluginLoadError
from pepperpy.settings import Settings

__all__ = [
    "check_compatible",
    "read_bundle_bytes", "takeover_scopes", "trust_snapshot", "verify_file"]


def read_bundle_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file only (never blocks), size limit checked first."""
    from pepperpy.bundle.fileio import open_regular
    from pepperpy.bundle.limits import DEFAULT_LIMITS

    limit = DEFAULT_LIMITS.max_bundle_size
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise BundleInvalidError(f"file is {size} bytes, above the {limit}-byte limit",
                                         path=str(path))
            return handle.read(limit + 1)
    except OSError as exc:
        raise BundleInvalidError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc


def trust_snapshot(settings: Settings) -> Any:
    """An immutable view of the operator's trust store."""
    from pepperpy.bundle.trust import TrustStore

    return TrustStore(settings.trust_file).snapshot()


def takeover_scopes(snapshot: Any, key_id: str) -> frozenset[str]:
    """Plugin names the key may take over from their owners (``trust add --scope``)."""
    record = snapshot.get(key_id)
    return frozenset(record.scopes or ()) if record is not None else frozenset()


def verify_file(path: Path, *, snapshot: Any) -> Any:
    """Read and fully verify ``path``; return the bundle helper's ``VerifiedBundle``."""
    from pepperpy.bundle.verify import verify_bundle

    data = read_bundle_bytes(path)
    return verify_bundle(data, snapshot, path=str(path))


def check_compatible(manifest: Any, *, path: str) -> None:
    """Refuse a plugin built for another PepperPy or Python (at install and at load)."""
    from pepperpy.bundle.manifest import is_compatible

    if not is_compatible(manifest):
        raise PluginLoadError(
            f"{path}: {manifest.name} {manifest.version} needs PepperPy "
            f"{manifest.pepperpy_compatibility}; install a matching plugin version or "
            "upgrade PepperPy", plugin=manifest.name,
        )
    if manifest.python_requires:
        from packaging.specifiers import SpecifierSet

        running = ".".join(map(str, sys.version_info[:3]))
        if not SpecifierSet(manifest.python_requires).contains(running, prereleases=True):
            raise PluginLoadError(
                f"{path}: {manifest.name} {manifest.version} needs Python "
                f"{manifest.python_requires}, this is {running}", plugin=manifest.name,
            )
