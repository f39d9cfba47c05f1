"""The install state: which version of each plugin is installed, and who owns its name.

Stored at ``Settings.state_file`` as JSON (``{"format": 1, "plugins": {NAME: record}}``).

Invariants:
- Written only through :func:`pepperpy.plugins.locking.atomic_write`, by a caller that
  holds the install lock, after the bundle verified: readers see the old state or the
  new one, and a refused install leaves it untouched.
- A record names the key that signed the installed version. That key owns the plugin
  name and its ``(category, provider_name)``: discovery and install refuse the same
  name or provider from any other key until the operator moves it
  (``pepperpy plugin install FILE --transfer-owner``), trusts the other key with a scope
  naming the plugin (``pepperpy trust add PUBFILE --scope NAME``), or removes the plugin.
- An unreadable state file is an error, never "nothing installed": treating it as empty
  would silently disable rollback protection.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict
from pathlib import Path

from pepperpy._record import record
from pepperpy.core import ConfigurationError
from pepperpy.plugins.locking import atomic_write

__all__ = ["InstallRecord", "InstallState", "load_state", "save_state"]

_FORMAT = 1


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
    """Everything installed, by plugin name."""

    plugins: Mapping[str, InstallRecord]

    def owner_of_name(self, name: str) -> str | None:
        record = self.plugins.get(name)
        return record.key_id if record else None

    def owner_of_provider(self, category: str, provider_name: str) -> InstallRecord | None:
        for rec in self.plugins.values():
            if (rec.category, rec.provider_name) == (category, provider_name):
                return rec
        return None

    def owner_conflict(
        self, *, name: str, category: str, provider_name: str, key_id: str,
        may_take_over: Collection[str] = (),
    ) -> InstallRecord | None:
        """The installed record whose owner ``key_id`` would take over, if any.

        ``may_take_over`` are the plugin names ``key_id`` is trusted to take over (its
        trust-store scopes): a record of one of those names is never a conflict.
        """
        for rec in (self.plugins.get(name), self.owner_of_provider(category, provider_name)):
            if rec is None or rec.key_id == key_id or rec.name in may_take_over:
                continue
            return rec
        return None


def load_state(path: Path) -> InstallState:
    """Read the state file; a missing file means nothing is installed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return InstallState({})
    try:
        data = json.loads(raw)
        if data.get("format") != _FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}")
        plugins = {n: InstallRecord(**r) for n, r in data["plugins"].items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigurationError(
            f"the install state {path} is unreadable ({exc}); restore it from a backup, "
            "or delete it and reinstall your plugins with `pepperpy plugin install FILE`"
        ) from exc
    return InstallState(plugins)


def save_state(path: Path, state: InstallState) -> None:
    """Atomically replace the state file (caller holds the install lock)."""
    data = {
        "format": _FORMAT,
        "plugins": {n: asdict(r) for n, r in sorted(state.plugins.items())},
    }
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
