"""The publisher side: a TUF repository of static files (``pepperpy repo``).

Layout (``docs/index-format.md``)::

    DIR/metadata/N.root.json          every root version, forever (clients walk them)
    DIR/metadata/N.targets.json       consistent snapshots: immutable once written
    DIR/metadata/N.snapshot.json
    DIR/metadata/timestamp.json       the only file that changes in place
    DIR/targets/<sha256>.<name>-<version>.pepperplugin

Invariants:
- Every file but ``timestamp.json`` is written once and never changed, so any HTTP
  cache or CDN may keep it forever. A new state is published bottom-up (bundle, targets,
  snapshot) and made visible last, by replacing ``timestamp.json`` atomically: a client
  sees the old state or the new one, never a mix.
- The current state is the newest version of each versioned file on disk, not what the
  timestamp points at: when the timestamp key is held elsewhere, a later ``repo add``
  never rewrites a snapshot version it already wrote.
- A target is added only after its bundle verifies (structure, signature, trusted and
  unrevoked key); a target path never changes bytes (a version never changes content).
- Changes take an exclusive lock on ``DIR/.pepperpy-repo.lock``, removed (still held)
  when the change ends, so the served folder keeps no lock file.
- Nothing half-written is ever in ``metadata/`` or ``targets/`` (a static server may
  publish them at any moment): temporary files live in ``DIR/.pepperpy-staging/`` and
  are renamed into place; a crash's leftovers there are removed by the next change.
- An interrupted publication is finished by the next ``repo add`` (or ``repo refresh``):
  a targets version no snapshot lists, or a snapshot the timestamp does not point at,
  is published before anything else, so a retried CI job never reports "unchanged"
  with nothing served.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from pepperpy.core import ConfigurationError, UntrustedPublisherError, ValidationError
from pepperpy.distribution.config import DEFAULT_EXPIRIES, ROLES
from pepperpy.fsio import (
    atomic_write,
    ensure_folder,
    file_lock,
    is_temp_name,
    read_state,
    remove_lock,
)
from pepperpy_dev.signer import KeySigner

__all__ = ["Added", "Repository", "RoleStatus", "target_path_for"]

_VERSIONED = re.compile(r"(\d+)\.(root|targets|snapshot)\.json")


def target_path_for(name: str, version: str) -> str:
    """The target path of a bundle: exactly the file name ``plugin build`` writes."""
    return f"{name}-{version}.pepperplugin"


def _expiry(delta: timedelta) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + delta


@dataclass(frozen=True)
class Added:
    """One ``repo add`` result: ``action`` is ``"added"`` or ``"unchanged"``."""

    path: str
    action: str
    sha256: str


class Repository:
    """A repository folder. Methods that change it take the signers they need."""

    def __init__(self, folder: Path, *, expiries: dict[str, timedelta] | None = None) -> None:
        self.folder = Path(folder)
        self.metadata_dir = self.folder / "metadata"
        self.targets_dir = self.folder / "targets"
        self.expiries = {**DEFAULT_EXPIRIES, **(expiries or {})}

    # -- creating ---------------------------------------------------------------

    def init(self, *, key: KeySigner, role_keys: dict[str, KeySigner] | None = None) -> Path:
        """Create root, targets, snapshot and timestamp; ``key`` holds every role that
        ``role_keys`` does not give another key. Returns the root to hand out."""
        if self.metadata_dir.exists() and any(self.metadata_dir.iterdir()):
            raise ConfigurationError(
                f"{self.metadata_dir} already holds metadata; `repo init` never overwrites "
                "a repository (use `pepperpy repo rotate` to change keys)"
            )
        holders = {role: (role_keys or {}).get(role, key) for role in ROLES}
        root = Root(expires=_expiry(self.expiries["root"]), consistent_snapshot=True)
        for role, signer in holders.items():
            root.add_key(signer.public_key, role)
        ensure_folder(self.metadata_dir, root=self.folder)
        ensure_folder(self.targets_dir, root=self.folder)
        with self._lock():
            root_md = Metadata(root)
            self._sign(root_md, [holders["root"]])
            self._write_new(self.metadata_dir / "1.root.json", root_md.to_bytes())
            targets = Metadata(Targets(expires=_expiry(self.expiries["targets"])))
            self._publish(targets, root, list(set(holders.values())), bump=False)
        return self.metadata_dir / "1.root.json"

    # -- reading ----------------------------------------------------------------

    def _latest(self, role: str) -> tuple[int, Path]:
        versions = [
            (int(m.group(1)), p) for p in self._listing()
            if (m := _VERSIONED.fullmatch(p.name)) and m.group(2) == role
        ]
        if not versions:
            raise ConfigurationError(
                f"{self.folder} is not a PepperPy index (no {role} metadata in "
                f"{self.metadata_dir}); create one with `pepperpy repo init {self.folder} "
                "--key KEYFILE`"
            )
        return max(versions)

    def _listing(self) -> list[Path]:
        try:
            return list(self.metadata_dir.iterdir())
        except OSError:
            return []

    def root(self) -> Metadata[Root]:
        return _parse(Metadata[Root], self._latest("root")[1])

    def targets(self) -> Metadata[Targets]:
        return _parse(Metadata[Targets], self._latest("targets")[1])

    def status(self) -> list[RoleStatus]:
        """Each role's newest metadata: version, expiry, key ids and threshold."""
        root = self.root()
        rows = []
        for role in ("root", "targets", "snapshot", "timestamp"):
            path = (self.metadata_dir / "timestamp.json" if role == "timestamp"
                    else self._latest(role)[1])
            signed = _parse(Metadata[Any], path).signed if path.exists() else None
            keys = root.signed.roles[role]
            rows.append(RoleStatus(
                role, signed.version if signed else None,
                signed.expires.strftime("%Y-%m-%dT%H:%M:%SZ") if signed else None,
                tuple(keys.keyids), keys.threshold))
        return rows

    def offered(self) -> dict[str, TargetFile]:
        """Every target in the newest targets metadata, by path."""
        return dict(self.targets().signed.targets)

    # -- changing ---------------------------------------------------------------

    def add(self, bundles: Iterable[Path], *, signers: list[KeySigner], trust: Any) -> list[Added]:
        """Verify each bundle against ``trust`` (a trust snapshot), then publish them."""
        from pepperpy.trust import admissible as policy
        from pepperpy.trust.gate import verify_bundle
        from pepperpy.trust.types import InstallState

        checked = []
        for path in bundles:
            data = _read_bundle(Path(path))
            try:
                verified = verify_bundle(data, trust, path=str(path))
            except UntrustedPublisherError as exc:
                raise UntrustedPublisherError(
                    f"{path} is signed by publisher key {exc.key_id}, which the trust store "
                    "does not hold: pass its public key with `--publisher-key PUBFILE` (the "
                    "NAME.pub `pepperpy keygen` wrote), or trust it with `pepperpy trust add "
                    "PUBFILE`; nothing was published", plugin=exc.plugin, key_id=exc.key_id,
                ) from None
            # a key trusted only for some plugin names (``trust add --only``) publishes
            # only those: the index would otherwise offer a name its signer may not use
            key = trust.get(verified.key_id)
            policy.signer_allowed(
                policy.Candidate(verified.manifest, verified.digest, verified.key_id,
                                 str(path), "file"),
                key.only if key is not None else None, InstallState({}),
            )
            checked.append((data, verified))
        results: list[Added] = []
        with self._lock():
            self.finish_interrupted(signers)
            targets = self.targets()
            for data, verified in checked:  # every refusal before the first file is written
                _listed(targets.signed, verified, data)
            for data, verified in checked:
                results.append(self._add_target(targets.signed, data, verified, trust))
            if any(r.action == "added" for r in results):
                self._publish(targets, self.root().signed, signers)
        return results

    def finish_interrupted(self, signers: list[KeySigner]) -> bool:
        """Publish what an interrupted change left unpublished (caller holds the lock):
        a targets version newer than the snapshot lists, then a snapshot newer than the
        timestamp names. True if anything was published."""
        root = self.root().signed
        targets_version = self._latest("targets")[0]
        listed = self._snapshot_md().signed.meta["targets.json"].version
        if targets_version > listed and _holders(root, "snapshot", signers):
            snapshot = Snapshot(expires=_expiry(self.expiries["snapshot"]))
            raw = self._read(self._latest("targets")[1])
            snapshot.meta["targets.json"] = MetaFile.from_data(targets_version, raw,
                                                               ["sha256"])
            self._publish_snapshot(snapshot, root, signers)
            return True
        if not self.timestamp_published() and _holders(root, "timestamp", signers):
            self._publish_timestamp(root, signers)
            return True
        return False

    def _add_target(self, targets: Targets, data: bytes, verified: Any, trust: Any) -> Added:
        path, digest, listed = _listed(targets, verified, data)
        if listed:
            return Added(path, "unchanged", digest)
        self._write_new(self.targets_dir / f"{digest}.{path}", data)
        target = TargetFile.from_data(path, data, ["sha256"])
        target.unrecognized_fields["custom"] = _custom(verified, trust.get(verified.key_id))
        targets.targets[path] = target
        return Added(path, "added", digest)

    def yank(self, name: str, version: str, *, signers: list[KeySigner],
             reason: str = "") -> str:
        """Mark ``name==version`` yanked: clients refuse to install it. The file stays."""
        path = target_path_for(name, version)
        with self._lock():
            targets = self.targets()
            target = targets.signed.targets.get(path)
            if target is None:
                offered = sorted(targets.signed.targets)[:20]
                raise ValidationError(
                    f"{name}=={version} is not in this index (offered: "
                    f"{', '.join(offered) or 'nothing'})"
                )
            custom = dict(target.custom or {})
            if custom.get("yanked"):
                return path
            custom["yanked"] = True
            if reason:
                custom["yanked_reason"] = reason[:200]
            target.unrecognized_fields["custom"] = custom
            self._publish(targets, self.root().signed, signers)
        return path

    def refresh(self, *, signers: list[KeySigner]) -> int:
        """New timestamp (cron); re-sign snapshot/targets near their expiry if the keys
        are here. Returns the new timestamp version."""
        with self._lock():
            root = self.root().signed
            held = {r for r in ROLES if _holders(root, r, signers)}
            if "timestamp" not in held:
                raise ConfigurationError(_missing_key("timestamp", root))
            if self.finish_interrupted(signers):
                return self._timestamp_version()
            targets = self.targets()
            if "targets" in held and _due(targets.signed, self.expiries["targets"]):
                self._publish(targets, root, signers)
            else:
                snapshot = self._snapshot_md()
                if "snapshot" in held and _due(snapshot.signed, self.expiries["snapshot"]):
                    self._publish_snapshot(snapshot.signed, root, signers)
                else:
                    self._publish_timestamp(root, signers)
            return self._timestamp_version()

    def rotate(self, *, old: KeySigner, new: KeySigner, others: list[KeySigner]) -> int:
        """Replace ``old`` by ``new`` in every role it holds. The new root is signed by
        both, so clients that trust the old root follow; returns its version."""
        with self._lock():
            root_md = self.root()
            root = root_md.signed
            if old.keyid not in root.roles["root"].keyids:
                raise ConfigurationError(
                    f"{old.path or 'the old key'} does not hold the root role of this index; "
                    "pass the current root key as --key"
                )
            for role in ROLES:
                if old.keyid in root.roles[role].keyids:
                    root.revoke_key(old.keyid, role)
                    root.add_key(new.public_key, role)
            root.version += 1
            root.expires = _expiry(self.expiries["root"])
            self._sign(root_md, [old, new])
            self._write_new(self.metadata_dir / f"{root.version}.root.json", root_md.to_bytes())
            # The other roles are re-signed at once: metadata signed by the old key no
            # longer verifies under the new root.
            self._publish(self.targets(), root, [new, *others])
            return int(root.version)

    # -- publishing -------------------------------------------------------------

    def _snapshot_md(self) -> Metadata[Snapshot]:
        return _parse(Metadata[Snapshot], self._latest("snapshot")[1])

    def _publish(self, targets: Metadata[Targets], root: Root, signers: list[KeySigner],
                 *, bump: bool = True) -> None:
        """Write a new targets version, then snapshot, then timestamp (if keys allow)."""
        keys = _holders(root, "targets", signers)
        if not keys:
            raise ConfigurationError(_missing_key("targets", root))
        if bump:
            targets.signed.version = self._latest("targets")[0] + 1
        targets.signed.expires = _expiry(self.expiries["targets"])
        self._sign(targets, keys)
        raw = targets.to_bytes()
        self._write_new(self.metadata_dir / f"{targets.signed.version}.targets.json", raw)
        snapshot = Snapshot(expires=_expiry(self.expiries["snapshot"]))
        snapshot.meta["targets.json"] = MetaFile.from_data(targets.signed.version, raw,
                                                           ["sha256"])
        self._publish_snapshot(snapshot, root, signers)

    def _publish_snapshot(self, snapshot: Snapshot, root: Root,
                          signers: list[KeySigner]) -> None:
        keys = _holders(root, "snapshot", signers)
        if not keys:
            raise ConfigurationError(_missing_key("snapshot", root))
        latest = [int(m.group(1)) for p in self._listing()
                  if (m := _VERSIONED.fullmatch(p.name)) and m.group(2) == "snapshot"]
        snapshot.version = max(latest, default=0) + 1
        snapshot.expires = _expiry(self.expiries["snapshot"])
        md = Metadata(snapshot)
        self._sign(md, keys)
        self._write_new(self.metadata_dir / f"{snapshot.version}.snapshot.json", md.to_bytes())
        if _holders(root, "timestamp", signers):
            self._publish_timestamp(root, signers)

    def _publish_timestamp(self, root: Root, signers: list[KeySigner]) -> None:
        version, path = self._latest("snapshot")
        raw = self._read(path)
        timestamp = Timestamp(
            version=self._timestamp_version() + 1,
            expires=_expiry(self.expiries["timestamp"]),
            snapshot_meta=MetaFile.from_data(version, raw, ["sha256"]),
        )
        md = Metadata(timestamp)
        self._sign(md, _holders(root, "timestamp", signers))
        self._write(self.metadata_dir / "timestamp.json", md.to_bytes())

    def timestamp_published(self) -> bool:
        """Whether ``timestamp.json`` points at the newest snapshot."""
        path = self.metadata_dir / "timestamp.json"
        if not path.exists():
            return False
        ts = _parse(Metadata[Timestamp], path)
        return ts.signed.snapshot_meta.version == self._latest("snapshot")[0]

    def _timestamp_version(self) -> int:
        path = self.metadata_dir / "timestamp.json"
        if not path.exists():
            return 0
        return int(_parse(Metadata[Timestamp], path).signed.version)

    @staticmethod
    def _sign(md: Metadata[Any], signers: list[KeySigner]) -> None:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)

    @property
    def staging_dir(self) -> Path:
        """Where temporary files live: never in a folder a server publishes."""
        return self.folder / ".pepperpy-staging"

    def _write(self, path: Path, data: bytes) -> None:
        atomic_write(path, data, root=self.folder, staging=self.staging_dir)

    def _read(self, path: Path) -> bytes:
        from pepperpy.trust.types import DEFAULT_LIMITS

        data = read_state(path, what="index file", limit=DEFAULT_LIMITS.max_bundle_size,
                          fix=_RESTORE)
        if data is None:
            raise ConfigurationError(f"{path} is missing; {_RESTORE}")
        return data

    def _write_new(self, path: Path, data: bytes) -> None:
        """Write an immutable file; refuse to change one that exists with other bytes."""
        if path.exists() or path.is_symlink():
            if self._read(path) == data:
                return
            raise ConfigurationError(
                f"{path} already exists with other content; files in an index are "
                "immutable (was the folder edited by hand?)"
            )
        self._write(path, data)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        if not self.metadata_dir.is_dir():
            self._latest("root")  # raises: not an index, with the fix
        lock = self.folder / ".pepperpy-repo.lock"
        with file_lock(lock):
            try:
                self._clean_staging()
                yield
            finally:  # nothing of the lock stays in the folder being served
                remove_lock(lock)

    def _clean_staging(self) -> None:
        """Remove the temporary files a crashed change left (caller holds the lock)."""
        try:
            names = [e.name for e in os.scandir(self.staging_dir)]
        except OSError:
            return
        for name in names:
            if is_temp_name(name):
                with contextlib.suppress(OSError):
                    os.unlink(self.staging_dir / name)


_RESTORE = ("restore it from a backup, a mirror (`pepperpy index mirror`) or a client's "
            "copy in PEPPERPY_HOME/indexes/NAME/metadata/, then retry")
_METADATA_LIMIT = 64 << 20


@dataclass(frozen=True)
class RoleStatus:
    """One TUF role of an index as ``repo status`` shows it (None: not published)."""

    role: str
    version: int | None
    expires: str | None
    key_ids: tuple[str, ...]
    threshold: int


def _parse(kind: Any, path: Path) -> Any:
    """``kind.from_bytes`` of ``path`` (bounded); a missing or corrupt file is a
    ConfigurationError naming it."""
    from tuf.api.serialization import DeserializationError

    from pepperpy.fsio import refuse_deep

    raw = read_state(path, what="index metadata", limit=_METADATA_LIMIT, fix=_RESTORE)
    if raw is None:
        raise ConfigurationError(f"cannot read {path}: it is missing; {_RESTORE}")
    refuse_deep(raw, path=path, what="index metadata", fix=_RESTORE)
    try:
        return kind.from_bytes(raw)
    except (DeserializationError, ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError(
            f"{path} is corrupt ({type(exc).__name__}); {_RESTORE}"
        ) from None


def _holders(root: Root, role: str, signers: list[KeySigner]) -> list[KeySigner]:
    ids = set(root.roles[role].keyids)
    seen: dict[str, KeySigner] = {}
    for s in signers:
        if s.keyid in ids:
            seen.setdefault(s.keyid, s)
    return list(seen.values())


def _missing_key(role: str, root: Root) -> str:
    ids = ", ".join(k[:16] for k in root.roles[role].keyids)
    option = "--timestamp-key" if role == "timestamp" else "--key"
    return (f"none of the keys given holds the {role} role of this index (its key: {ids}); "
            f"pass that key file with {option}")


def _due(signed: Any, period: timedelta) -> bool:
    """Re-sign when less than half of the role's period is left."""
    return bool(signed.expires - datetime.now(UTC) < period / 2)


def _custom(verified: Any, key: Any) -> dict[str, Any]:
    """The ``custom`` field: the verified manifest's facts and the publisher's key."""
    m = verified.manifest
    return {
        "name": m.name,
        "version": m.version,
        "category": m.category,
        "provider_name": m.provider_name,
        "description": (m.description or "")[:300],
        "pepperpy_compatibility": m.pepperpy_compatibility,
        "python_requires": m.python_requires,
        "key_id": verified.key_id,
        "publisher": verified.publisher,
        "publisher_key": base64.b64encode(key.public_key).decode("ascii"),
        "yanked": False,
    }


def _read_bundle(path: Path) -> bytes:
    from pepperpy.trust.types import DEFAULT_LIMITS

    try:
        size = path.stat().st_size
        if size > DEFAULT_LIMITS.max_bundle_size:
            raise ValidationError(
                f"{path} is {size} bytes, above the {DEFAULT_LIMITS.max_bundle_size}-byte "
                "bundle limit"
            )
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read bundle {path}: {exc.strerror}") from None


def _listed(targets: Targets, verified: Any, data: bytes) -> tuple[str, str, bool]:
    """The bundle's target path and digest, and whether the index lists exactly these
    bytes there; the same version listed with other bytes is refused."""
    m = verified.manifest
    path = target_path_for(m.name, m.version)
    digest = hashlib.sha256(data).hexdigest()
    old = targets.targets.get(path)
    if old is None:
        return path, digest, False
    if old.hashes.get("sha256") == digest:
        return path, digest, True
    raise ValidationError(
        f"{path} is already in the index with other bytes (sha256 "
        f"{old.hashes.get('sha256', '?')[:16]}, this file {digest[:16]}); a version "
        "never changes content: bump the plugin's version and build again; nothing was "
        "published"
    )
