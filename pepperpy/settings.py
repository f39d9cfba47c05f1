"""Where PepperPy keeps its state, and the operator's switches.

Read from the environment when asked, never at import time. Every setting has one
documented environment variable; ``Settings`` lets code and tests pass values directly.

| variable                     | default            | meaning                                     |
|------------------------------|--------------------|---------------------------------------------|
| PEPPERPY_HOME                | ~/.pepperpy        | trust store, installed plugins, caches      |
| PEPPERPY_DEV                 | 0                  | 1: development mode: also search the folders|
|                              |                    | of PEPPERPY_PLUGIN_PATH and the checkout's  |
|                              |                    | dist_plugins/ (installed plugins otherwise) |
| PEPPERPY_PLUGIN_PATH         | (empty)            | extra folders of .pepperplugin files        |
|                              |                    | (searched only in development mode)         |
| PEPPERPY_AUTO_INSTALL        | 1                  | 0: never run uv; missing deps are an error  |
| PEPPERPY_INDEX_URL           | (uv's default)     | the package index uv installs from          |
| PEPPERPY_NO_INDEX            | 0                  | 1: use no index at all, only FIND_LINKS     |
|                              |                    | folders (offline / air-gapped installs)     |
| PEPPERPY_FIND_LINKS          | (empty)            | extra local wheel folders (os.pathsep list) |
| PEPPERPY_ALLOW_SOURCE_BUILDS | (empty)            | comma list of packages allowed to build     |
|                              |                    | from source (e.g. llama-cpp-python)         |
| PEPPERPY_UV_TIMEOUT          | 1800               | seconds before a uv run is stopped          |
| PEPPERPY_DEV_PLUGINS         | (empty)            | os.pathsep list of unsigned plugin_src      |
|                              |                    | folders to load (developer mode, loud)      |
| PEPPERPY_CHECKOUT_PLUGINS    | 1                  | 0: in development mode, ignore the          |
|                              |                    | dist_plugins/ of the checkout this PepperPy |
|                              |                    | runs from (never one found from the cwd)    |
"""

from __future__ import annotations

import os
from pathlib import Path

from pepperpy._record import field, record

__all__ = ["Settings"]


def _split_paths(value: str | None) -> tuple[Path, ...]:
    if not value:
        return ()
    # Absolute now: uv runs in a private working folder, so a relative path would
    # silently point somewhere else.
    return tuple(Path(p).expanduser().absolute() for p in value.split(os.pathsep) if p.strip())


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


@record
class Settings:
    """Operator settings. ``Settings.from_env()`` reads the environment once."""

    home: Path = field(default_factory=lambda: Path("~/.pepperpy").expanduser())
    plugin_path: tuple[Path, ...] = ()
    auto_install: bool = True
    index_url: str | None = None
    no_index: bool = False
    find_links: tuple[Path, ...] = ()
    allow_source_builds: frozenset[str] = frozenset()
    uv_timeout: float = 1800.0
    dev_plugins: tuple[Path, ...] = ()
    checkout_plugins: bool = True
    dev_mode: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("PEPPERPY_HOME") or "~/.pepperpy").expanduser()
        builds = env.get("PEPPERPY_ALLOW_SOURCE_BUILDS", "")
        return cls(
            home=home,
            plugin_path=_split_paths(env.get("PEPPERPY_PLUGIN_PATH")),
            auto_install=_flag(env.get("PEPPERPY_AUTO_INSTALL"), True),
            index_url=env.get("PEPPERPY_INDEX_URL") or None,
            no_index=_flag(env.get("PEPPERPY_NO_INDEX"), False),
            find_links=_split_paths(env.get("PEPPERPY_FIND_LINKS")),
            allow_source_builds=frozenset(
                _normalise(b) for b in builds.split(",") if b.strip()
            ),
            uv_timeout=_seconds(env.get("PEPPERPY_UV_TIMEOUT"), 1800.0),
            dev_plugins=_split_paths(env.get("PEPPERPY_DEV_PLUGINS")),
            checkout_plugins=_flag(env.get("PEPPERPY_CHECKOUT_PLUGINS"), True),
            dev_mode=_flag(env.get("PEPPERPY_DEV"), False),
        )

    @property
    def trust_file(self) -> Path:
        return self.home / "trust.json"

    @property
    def plugins_dir(self) -> Path:
        """Installed bundles (``pepperpy plugin install``)."""
        return self.home / "plugins"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def state_file(self) -> Path:
        """Installed versions and name owners, for rollback and takeover checks."""
        return self.home / "installed.json"


def _seconds(value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (0 < seconds < float("inf")):
        from pepperpy.core import ConfigurationError

        raise ConfigurationError(
            f"PEPPERPY_UV_TIMEOUT must be a positive number of seconds, got {value!r}"
        )
    return seconds


def _normalise(name: str) -> str:
    """PEP 503 name normalisation, without importing packaging at import time."""
    import re

    return re.sub(r"[-_.]+", "-", name.strip()).lower()
