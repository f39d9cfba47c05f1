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
from dataclasses import asdict
from pathlib import Path

from pepperpy.core import ConfigurationError
from pepperpy.plugins.locking import atomic_write
from pepperpy.trust.types import InstallRecord, InstallState  # the kernel's values

__all__ = ["InstallRecord", "InstallState", "load_state", "save_state"]

_FORMAT = 1


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
