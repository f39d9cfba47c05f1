"""Build a plugin source folder into one signed, reproducible ``.pepperplugin``.

Invariants:

* the output depends only on the file names and contents kept and on the key: entries
  sorted, fixed timestamp and mode, deflate level 9 or stored (whichever is smaller),
  deterministic ed25519; two builds give identical bytes (with the same zlib);
* ignore rules: any path segment starting with ``.`` (``.git``, ``.DS_Store``,
  ``.venv``...), ``__pycache__`` folders, names ending in ``~``, ``.pyc``/``.pyo``,
  ``.swp``/``.swo`` are skipped silently; any other file whose type a bundle may not
  hold (see :mod:`pepperpy.trust.archive`) is skipped and reported in ``skipped``;
* author-only files are never bundled: a top-level ``tests/`` folder, ``conftest.py``,
  ``AGENTS.md`` and ``CLAUDE.md`` (what the scaffold writes for the author; a bundle
  ships what runs, plus its README);
* a same-name, same-version bundle already in the output folder with other bytes is
  refused unless ``force``: two different files must never share a version;
* a symlink anywhere in the source is an error (a bundle never follows links);
* build-time includes: a root ``shared.txt`` (never bundled) lists module files, one
  per line (blank lines and ``#`` comments allowed), read from the sibling folder
  ``../_shared/`` and added at the bundle root under the same name; a name that is not
  a plain module file name, is missing, is a symlink or also exists in the plugin
  folder is an error. ``_shared/`` has no ``plugin.json``, so it is never a plugin;
* the manifest is validated (strict JSON, schema, dependencies, entry point) and the
  finished archive is verified by the same code that verifies downloads;
* the file is written atomically (temp file in the output folder, fsync, os.replace).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pepperpy.bundle.fileio import atomic_write
from pepperpy.bundle.keys import SigningKey
from pepperpy.core import BundleInvalidError, ConfigurationError
from pepperpy.trust import archive as zf
from pepperpy.trust.archive import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    check_layout,
    file_kind,
    name_problem,
)
from pepperpy.trust.authentic import encode_signature_entry, statement
from pepperpy.trust.gate import verify_bundle
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, TrustedKey, TrustSnapshot, VerifiedBundle

__all__ = [
    "SHARED_DIR", "SHARED_LIST", "BuildResult", "build_all", "build_bundle", "build_bytes",
    "collect_files", "list_files", "shared_folder", "sign_files", "write_archive",
]

BUNDLE_SUFFIX = ".pepperplugin"
_JUNK_SUFFIXES = (".pyc", ".pyo", ".swp", ".swo", "~")
#: Top-level names in a plugin folder that are for its author, never for its users.
AUTHOR_ONLY = frozenset({"tests", "conftest.py", "AGENTS.md", "CLAUDE.md"})
#: The folder, next to the plugin folders, that holds modules several plugins include.
SHARED_DIR = "_shared"
#: The file in a plugin folder naming the shared modules its bundle includes.
SHARED_LIST = "shared.txt"
_SHARED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.py")


@dataclass(frozen=True)
class BuildResult:
    path: Path
    bundle: VerifiedBundle
    skipped: tuple[str, ...]


def _is_junk(rel: str) -> bool:
    parts = rel.split("/")
    return (any(p.startswith(".") or p == "__pycache__" for p in parts)
            or rel.endswith(_JUNK_SUFFIXES))


def _mode(full: Path) -> int:
    """``lstat`` mode of ``full``; a symlink is an error (a bundle never holds links)."""
    mode = os.lstat(full).st_mode
    if stat.S_ISLNK(mode):
        raise ConfigurationError(
            f"{full} is a symlink; bundles never hold links (copy the file instead)"
        )
    return mode


def _walk(src: Path, limits: Limits) -> tuple[list[tuple[str, Path]], list[str]]:
    """The plugin folder's own files as (entry name, path), and the skipped names."""
    files: list[tuple[str, Path]] = []
    skipped: list[str] = []
    for root, dirs, names in os.walk(src, followlinks=False):
        base = Path(root)
        for name in sorted(dirs + names):
            full = base / name
            rel = full.relative_to(src).as_posix()
            if _is_junk(rel) or rel in AUTHOR_ONLY:
                if name in dirs:
                    dirs.remove(name)
                continue
            mode = _mode(full)
            if stat.S_ISDIR(mode) or rel == SHARED_LIST:
                continue
            if not stat.S_ISREG(mode):
                raise ConfigurationError(f"{full} is not a regular file")
            if file_kind(rel) is None or name_problem(rel, limits=limits):
                skipped.append(rel)
                continue
            files.append((rel, full))
    return files, skipped


def shared_folder(src: Path) -> Path:
    """Where the modules listed in ``src/shared.txt`` are read from."""
    return Path(src).absolute().parent / SHARED_DIR


def _shared_names(listed: Path) -> list[str]:
    """The module file names ``listed`` (a ``shared.txt``) names, checked."""
    try:
        text = listed.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{listed} is not UTF-8 text; save it as UTF-8") from None
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        where = f"{listed}, line {number}"
        if not _SHARED_NAME.fullmatch(name) or name == "__init__.py":
            raise ConfigurationError(
                f"{where}: {name!r} is not a shared module name; write one file name of "
                f"{SHARED_DIR}/ per line, like _helpers.py (a .py file, no folders)"
            )
        if name in names:
            raise ConfigurationError(f"{where}: {name!r} is listed twice; delete one line")
        names.append(name)
    return names


def _shared_file(src: Path, name: str) -> Path:
    """``_shared/name``, checked: it exists, is a regular file, and is not ambiguous."""
    path = shared_folder(src) / name
    listed = src / SHARED_LIST
    if os.path.lexists(src / name):
        raise ConfigurationError(
            f"{src / name} exists and {listed} also lists {name!r} from {path.parent}; "
            "keep one: delete the plugin's copy or the line in shared.txt"
        )
    try:
        _mode(path.parent)
        mode = _mode(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigurationError(
            f"{listed} lists {name!r} but {path} does not exist; create it or delete the line"
        ) from None
    if not stat.S_ISREG(mode):
        raise ConfigurationError(f"{path} (listed in {listed}) is not a regular file")
    return path


def _shared_files(src: Path) -> list[tuple[str, Path]]:
    """The shared modules ``src/shared.txt`` includes, as (entry name, path)."""
    listed = src / SHARED_LIST
    if not listed.is_file():  # the walk has already refused a symlinked shared.txt
        return []
    return [(name, _shared_file(src, name)) for name in _shared_names(listed)]


def list_files(
    src: Path, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[tuple[str, Path]], list[str]]:
    """The files a bundle of ``src`` holds as (entry name, source path), sorted by name,
    and the skipped names. Developer mode imports through this list too."""
    src = Path(src)
    if not (src / MANIFEST_NAME).is_file():
        raise ConfigurationError(f"{src} has no plugin.json; is it a plugin source folder?")
    files, skipped = _walk(src, limits)
    files += _shared_files(src)
    files.sort(key=lambda entry: entry[0])
    problem = check_layout(n for n, _ in files)
    if problem:
        raise BundleInvalidError(problem, path=str(src))
    return files, skipped


def collect_files(
    src: Path, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Read the files a bundle of ``src`` holds; return (files, skipped names)."""
    files, skipped = list_files(src, limits=limits)
    return [(name, path.read_bytes()) for name, path in files], skipped


def build_bytes(
    files: list[tuple[str, bytes]], key: SigningKey, *, limits: Limits = DEFAULT_LIMITS
) -> VerifiedBundle:
    """Sign ``files`` and verify the result with the same checks a user runs."""
    data = sign_files(files, key)
    record = TrustedKey(key.key_id, "(build)", key.public_key.raw, "")
    snapshot = TrustSnapshot(MappingProxyType({key.key_id: record}))
    return verify_bundle(data, snapshot, limits=limits)


def build_bundle(
    src: Path, *, key: SigningKey, out_dir: Path, limits: Limits = DEFAULT_LIMITS,
    force: bool = False,
) -> BuildResult:
    """Build ``src`` into ``out_dir/<name>-<version>.pepperplugin``; an existing file of
    that name with other bytes is refused unless ``force``."""
    src = Path(src)
    files, skipped = collect_files(src, limits=limits)
    bundle = build_bytes(files, key, limits=limits)
    out = Path(out_dir) / f"{bundle.manifest.name}-{bundle.manifest.version}{BUNDLE_SUFFIX}"
    if not force:
        _refuse_other_bytes(out, bundle)
    atomic_write(out, bundle.data, mode=0o644)
    return BuildResult(out, bundle, tuple(skipped))


def _refuse_other_bytes(out: Path, bundle: VerifiedBundle) -> None:
    try:
        same = out.read_bytes() == bundle.data
    except FileNotFoundError:
        return
    if not same:
        m = bundle.manifest
        raise ConfigurationError(
            f"{out} already exists with other bytes: {m.name} {m.version} was built before "
            "from other files (or with another key), and two bundles must never share a "
            f"version; bump \"version\" in plugin.json (e.g. {_next_patch(m.version)}), or "
            "pass --force to replace it"
        )


def _next_patch(version: str) -> str:
    parts = version.split(".")
    if len(parts) == 3 and parts[2].isdigit():
        return f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}"
    return f"a version above {version}"


def build_all(
    src_root: Path, out_dir: Path, key: SigningKey, *, limits: Limits = DEFAULT_LIMITS,
    force: bool = False,
) -> list[BuildResult]:
    """Build every ``src_root/*/plugin.json`` folder, in name order; stop at the first error."""
    sources = sorted(p.parent for p in Path(src_root).glob(f"*/{MANIFEST_NAME}"))
    if not sources:
        raise ConfigurationError(f"no plugin folders (*/plugin.json) under {src_root}")
    return [build_bundle(s, key=key, out_dir=out_dir, limits=limits, force=force)
            for s in sources]


# -- writing the canonical archive (the reader is pepperpy.trust.archive) -----------


def _compress(data: bytes) -> tuple[int, bytes]:
    """Deflate at level 9 unless that does not shrink the data; deterministic per zlib."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    packed = comp.compress(data) + comp.flush()
    if len(packed) < len(data):
        return zf.DEFLATED, packed
    return zf.STORED, data


@dataclass(frozen=True)
class EncodedEntry:
    """A file ready to be written: name, method, CRC, stored bytes and real size."""

    name: str
    method: int
    crc: int
    packed: bytes
    size: int


def encode_entry(name: str, data: bytes, *, stored: bool = False) -> EncodedEntry:
    """Check the name and compress (or store) one file."""
    problem = name_problem(name)
    if problem:
        raise BundleInvalidError(problem)
    method, packed = (zf.STORED, data) if stored else _compress(data)
    return EncodedEntry(name, method, zlib.crc32(data), packed, len(data))


def _local_header(e: EncodedEntry) -> bytes:
    raw_name = e.name.encode("ascii")
    return zf.LOCAL.pack(zf.LOCAL_SIG, zf.VERSION, zf.FLAGS, e.method, zf.DOS_TIME,
                         zf.DOS_DATE, e.crc, len(e.packed), e.size, len(raw_name),
                         0) + raw_name


def local_section(entries: Sequence[EncodedEntry]) -> bytes:
    """The local headers and data of ``entries``: the archive's first bytes."""
    return b"".join(_local_header(e) + e.packed for e in entries)


def assemble(entries: Sequence[EncodedEntry]) -> bytes:
    """Write encoded entries, in the given order, in the canonical layout."""
    local_parts: list[bytes] = []
    central_parts: list[bytes] = []
    offset = 0
    for e in entries:
        raw_name = e.name.encode("ascii")
        header = _local_header(e)
        central_parts.append(
            zf.CENTRAL.pack(zf.CENTRAL_SIG, zf.MADE_BY, zf.VERSION, zf.FLAGS, e.method,
                            zf.DOS_TIME, zf.DOS_DATE, e.crc, len(e.packed), e.size,
                            len(raw_name), 0, 0, 0, 0, zf.EXTERNAL_ATTR, offset) + raw_name
        )
        local_parts += [header, e.packed]
        offset += len(header) + len(e.packed)
    cd = b"".join(central_parts)
    end = zf.END.pack(zf.END_SIG, 0, 0, len(entries), len(entries), len(cd), offset, 0)
    return b"".join(local_parts) + cd + end


def write_archive(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Write ``files`` in the given order in the canonical layout.

    The caller orders entries (sorted plugin files, then the signature entry); the
    reader refuses any other order. The signature entry is always stored.
    """
    return assemble([encode_entry(n, d, stored=n == SIGNATURE_NAME) for n, d in files])


def sign_files(files: Sequence[tuple[str, bytes]], key: SigningKey) -> bytes:
    """Sort, sign and write ``files`` as a complete bundle archive."""
    ordered = sorted(files)
    names = [name for name, _ in ordered]
    if len(set(names)) != len(names):
        raise BundleInvalidError("two files have the same name")
    if MANIFEST_NAME not in names:
        raise BundleInvalidError("a bundle needs plugin.json at its root")
    if SIGNATURE_NAME in names:
        raise BundleInvalidError(f"{SIGNATURE_NAME} is reserved for the signature")
    encoded = [encode_entry(name, data) for name, data in ordered]
    prefix = local_section(encoded)
    signature = key.sign(statement(hashlib.sha256(prefix).hexdigest()))
    sig_entry = encode_signature_entry(key_id=key.key_id, signature=signature)
    return assemble([*encoded, encode_entry(SIGNATURE_NAME, sig_entry, stored=True)])
