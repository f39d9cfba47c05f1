"""The dependency record: which requirements PepperPy has satisfied for each plugin.

Stored at ``PEPPERPY_HOME/dependencies.json`` as
``{"format": 1, "plugins": {NAME: [REQUIREMENT, ...]}}``. It answers "what does
another installed plugin depend on" without opening, let alone parsing, any bundle.

Invariants:
- Written only by ``dependencies.ensure_dependencies``, from a ``DependencySpec`` the
  caller built from a *verified* manifest (its requirements and lock pins), once they
  are satisfied: on the fast path as well (a plugin whose dependencies were already
  installed, by an image build say, is protected too). Never from unverified bytes.
- Read only when something must be installed. The requirements of every *other*
  plugin that the install state lists are protected; entries of plugins that are not
  installed (removed, or only found on ``PEPPERPY_PLUGIN_PATH``) protect nothing, so
  ``pepperpy plugin remove`` needs no extra step.
- Writes are atomic (``locking.atomic_write``) under the record's own short lock, and
  best effort: a read-only home or a damaged record never fails a load. An unreadable
  record on the install path is an error, never "nothing to protect".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pepperpy.core import ConfigurationError
from pepperpy.settings import Settings

__all__ = ["load_record", "other_plugins_requirements", "record_path", "remember"]

_FORMAT = 1
_MAX_BYTES = 4 * 1024 * 1024
_remembered: set[tuple[str, str, tuple[str, ...]]] = set()  # (file, plugin, lines)


def record_path(settings: Settings) -> Path:
    return settings.home / "dependencies.json"


def load_record(path: Path) -> dict[str, tuple[str, ...]]:
    """Plugin name -> recorded requirement strings; a missing file is an empty record."""
    from pepperpy.fsio import load_json

    data = load_json(path, what="dependency record", fix=_FIX, limit=_MAX_BYTES, depth=8)
    if data is None:
        return {}
    try:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError("unknown format")
        plugins = data["plugins"]
        if not isinstance(plugins, dict) or not all(
            isinstance(v, list) and all(isinstance(r, str) for r in v)
            for v in plugins.values()
        ):
            raise ValueError("'plugins' must map names to lists of strings")
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreadable(path, exc) from exc
    return {str(name): tuple(lines) for name, lines in plugins.items()}


_FIX = ("delete it, then run `pepperpy plugin deps` to record the dependencies of every "
        "installed plugin again")


def _unreadable(path: Path, exc: Exception) -> ConfigurationError:
    return ConfigurationError(f"the dependency record {path} is unreadable ({exc}); {_FIX}")


def other_plugins_requirements(settings: Settings, *, plugin: str) -> dict[str, tuple[str, ...]]:
    """The recorded requirements of every installed plugin other than ``plugin``."""
    from pepperpy.plugins.state import load_state

    record = load_record(record_path(settings))
    installed = load_state(settings.state_file).plugins
    return {name: lines for name, lines in record.items()
            if name != plugin and name in installed}


def remember(settings: Settings, *, plugin: str, lines: Sequence[str]) -> None:
    """Record ``lines`` for ``plugin`` if the record does not say so already.

    Best effort and cheap when nothing changed (one small read, once per process).
    """
    path = record_path(settings)
    memo = (str(path), plugin, tuple(lines))
    if memo in _remembered:
        return
    try:
        if load_record(path).get(plugin) != memo[2]:
            _write(path, plugin, memo[2])
    except (OSError, ConfigurationError):
        return  # read-only home or damaged record: the install path reports it
    _remembered.add(memo)


def _write(path: Path, plugin: str, lines: tuple[str, ...]) -> None:
    import json  # writes only: a load that finds its record unchanged never imports it

    from pepperpy.fsio import atomic_write, file_lock, remove_file, temp_files

    with file_lock(path.with_name(path.name + ".lock")):
        for leftover in temp_files(path.parent, path.name):
            remove_file(leftover)  # a crashed write's
        record: Mapping[str, Sequence[str]] = {**load_record(path), plugin: lines}
        data = {"format": _FORMAT,
                "plugins": {n: list(v) for n, v in sorted(record.items())}}
        atomic_write(path, json.dumps(data, indent=2).encode() + b"\n")
