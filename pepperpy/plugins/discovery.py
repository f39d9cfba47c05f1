"""Find bundles and read their manifests cheaply, with an index cache.

Candidates: the installed plugins (``PEPPERPY_HOME/plugins``, what ``plugin install`` put
there), and nothing else unless the operator switches development mode on
(``PEPPERPY_DEV=1``, ``Settings.dev_mode``); then, in this order (earlier wins ties
between equal versions, see ``manager.py``):

2. each folder of ``PEPPERPY_PLUGIN_PATH``, in order;
3. the ``dist_plugins/`` of the PepperPy checkout this package runs from (an editable
   install of the repository), never one found from the current directory: a planted
   ``pyproject.toml`` and ``dist_plugins/`` in a shared folder is not a plugin source.

Invariants:
- Verify before parse: a file's manifest is read only after its signature held
  (``gate.check`` screens first). A file that is unsigned, signed by a
  key nobody trusts, revoked or invalid becomes a ``Found`` with ``problem`` (and the key
  id its signature entry names, if any): its manifest's claims are never read, so no
  hostile ``plugin.json`` reaches a parser, and a huge or sparse file costs a few small
  reads. Loading re-reads the bytes and checks them again; a summary here only chooses
  which files to load.
- The index cache (``cache_dir/index.json``) is keyed by (path, size, mtime_ns,
  ctime_ns, inode, device) and the trust fingerprint: any change to a file (writing it
  changes its ctime, which no user can set back) or to the trust store re-reads it. A
  corrupt cache is ignored and rewritten; an unwritable one is skipped.
- A broken bundle becomes a ``Found`` with ``problem`` set; it never stops discovery.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pepperpy import _jsonio as json  # json.loads/dumps without importing json
from pepperpy._record import record
from pepperpy.bundle.trust import read_trust
from pepperpy.core import StateError
from pepperpy.fsio import load_json, write_cache
from pepperpy.settings import Settings
from pepperpy.trust.gate import Trust, check

__all__ = [
    "Found", "check_file", "checkout_dist_plugins", "discover", "is_pepperpy_project",
    "search_folders", "withdrawn_digests",
]

SUFFIX = ".pepperplugin"
_INDEX_FORMAT = 2


@record
class Found:
    """One bundle file: what verification established, or why it was refused."""

    path: str
    source: str  # "installed" | "plugin-path" | "checkout"
    order: int  # position in the search order; lower wins ties
    name: str | None = None
    version: str | None = None
    category: str | None = None
    provider_name: str | None = None
    problem: str | None = None
    refusal: str | None = None  # the refusing error's class name, with ``problem``
    key_id: str | None = None
    digest: str | None = None


def checkout_dist_plugins(root: Path | None = None) -> Path | None:
    """The ``dist_plugins`` of the PepperPy checkout this package runs from (``root``,
    default: the folder above the ``pepperpy`` package), or None for an installed one."""
    root = root or Path(__file__).resolve().parents[2]
    dist = root / "dist_plugins"
    if dist.is_dir() and is_pepperpy_project(root / "pyproject.toml"):
        return dist
    return None


def withdrawn_digests(settings: Settings) -> frozenset[str]:
    """SHA-256 digests of bundles a configured index marked yanked, from each index's last
    verified refresh (``indexes/NAME/catalog.json``, written by the index client): read
    only for bundles found outside the install folder, never over the network."""
    from pepperpy.distribution.store import CATALOG_LIMIT

    found: set[str] = set()
    for catalog in sorted((settings.home / "indexes").glob("*/catalog.json")):
        try:  # bounded: a FIFO, a device or a huge file planted there is refused
            data = load_json(catalog, what="cached catalog", limit=CATALOG_LIMIT, depth=8,
                             fix="`pepperpy plugin search --refresh` rebuilds it")
            offers = data.get("offers", [])
            found.update(o["sha256"] for o in offers if o.get("yanked") is True)
        except (StateError, AttributeError, TypeError, KeyError):
            continue
    return frozenset(found)


def is_pepperpy_project(pyproject: Path) -> bool:
    """Whether ``pyproject`` is PepperPy's own project file."""
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("project", {}).get("name") == "pepperplug"  # the runtime, at the root


def search_folders(settings: Settings) -> list[tuple[str, Path]]:
    """The folders searched, in order, each with its source label: the installed plugins,
    and in development mode only, the searched folders."""
    folders: list[tuple[str, Path]] = [("installed", settings.plugins_dir)]
    if not settings.dev_mode:
        return folders
    folders += [("plugin-path", p) for p in settings.plugin_path]
    dist = checkout_dist_plugins() if settings.checkout_plugins else None
    if dist is not None:
        folders.append(("checkout", dist))
    return folders


def _scan(folder: Path) -> Iterator[os.DirEntry[str]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
            yield entry


def discover(settings: Settings, trust: Trust | None = None) -> list[Found]:
    """Every bundle in the search folders, in search order, each verified or refused."""
    trust = trust or read_trust(settings)
    index_path = settings.cache_dir / "index.json"
    cached = _load_index(index_path, trust.fingerprint)
    fresh: dict[str, dict] = {}
    found: list[Found] = []
    seen: set[str] = set()
    for source, folder in search_folders(settings):
        for entry in _scan(folder):
            path = os.path.abspath(entry.path)
            if path in seen:
                continue
            seen.add(path)
            item = _summary(entry, path, cached, trust)
            fresh[path] = item
            found.append(_found(item, path=path, source=source, order=len(found)))
    trust.cache.flush()
    if fresh != cached:
        _save_index(index_path, fresh, trust.fingerprint)
    return found


def _summary(entry: os.DirEntry[str], path: str, cached: dict[str, dict], trust: Trust) -> dict:
    """The cached summary if the file's identity is unchanged, else a fresh check."""
    try:
        st = entry.stat()
    except OSError as exc:
        return {"identity": None, "problem": f"cannot stat: {exc.strerror}"}
    identity = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    old = cached.get(path)
    if old is not None and old.get("identity") == identity:
        return old
    return {"identity": identity, **check_file(Path(path), trust)}


def check_file(path: Path, trust: Trust) -> dict:
    """What a bundle file is, as verification sees it: its verified identity, or the
    refusal (with the key id its signature entry names, when that much is readable)."""
    from pepperpy.core import PepperpyError

    try:
        verified = check(path, trust)  # one bounded pass: the bytes are not kept
    except PepperpyError as exc:
        return {"problem": str(exc), "refusal": type(exc).__name__,
                "key_id": getattr(exc, "key_id", None)}
    m = verified.manifest
    return {"name": m.name, "version": m.version, "category": m.category,
            "provider_name": m.provider_name, "key_id": verified.key_id,
            "digest": verified.digest}


def _found(item: dict, *, path: str, source: str, order: int) -> Found:
    names = ("name", "version", "category", "provider_name", "problem", "refusal", "key_id",
             "digest")
    return Found(path=path, source=source, order=order, **{k: item.get(k) for k in names})


def _load_index(path: Path, fingerprint: str) -> dict[str, dict]:
    try:  # bounded: a damaged cache is only a miss, rewritten after this discovery
        data = load_json(path, what="discovery cache", fix="", limit=32 << 20, depth=8)
    except StateError:
        return {}
    if not isinstance(data, dict) or data.get("format") != _INDEX_FORMAT:
        return {}
    if data.get("trust") != fingerprint:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _save_index(path: Path, entries: dict[str, dict], fingerprint: str) -> None:
    """Best effort: a read-only home still discovers, just without the cache."""
    data = json.dumps({"format": _INDEX_FORMAT, "trust": fingerprint, "entries": entries},
                      separators=(",", ":"))
    write_cache(path, data.encode(), mode=0o644)


def as_dict(found: Found) -> dict:
    from dataclasses import asdict  # listing only: loading never imports dataclasses

    return asdict(found)
