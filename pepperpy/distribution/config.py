"""Every limit, timeout and default expiry of plugin distribution, in one place.

The metadata size limits are ngclient's (``UpdaterConfig``); a bundle's size limit is
the length the signed targets metadata gives, so nothing here bounds it further.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from pepperpy._record import record
from pepperpy.core import ValidationError

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = [
    "AUTO_FETCH_ENV",
    "DEFAULT_EXPIRIES",  # noqa: F822 (a module __getattr__ builds it on first use)
    "ROLES",
    "SEARCH_MAX_AGE_ENV",
    "TIMEOUT_ENV",
    "FetchLimits",
    "parse_duration",
    "parse_expiries",
]

ROLES = ("root", "targets", "snapshot", "timestamp")

#: Timestamp a day (a cron job re-signs it), snapshot a week, targets a quarter, root a
#: year: the online role expires soonest, the offline root key is needed least often.
#: ``DEFAULT_EXPIRIES`` maps each role to a ``timedelta`` of that many days (built on
#: first use: importing ``datetime`` costs more than a client's no-change refresh).
_EXPIRY_DAYS = {"timestamp": 1, "snapshot": 7, "targets": 90, "root": 365}


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_EXPIRIES":
        from datetime import timedelta

        return {role: timedelta(days=days) for role, days in _EXPIRY_DAYS.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

AUTO_FETCH_ENV = "PEPPERPY_AUTO_FETCH"
TIMEOUT_ENV = "PEPPERPY_INDEX_TIMEOUT"
SEARCH_MAX_AGE_ENV = "PEPPERPY_INDEX_MAX_AGE"


@record
class FetchLimits:
    """Bounds on one download: connect, silence between bytes, and the whole transfer.

    ``total`` caps a server that trickles one byte at a time (slow retrieval): the gap
    timeout alone would never fire. ``min_rate`` (bytes/s) stretches ``total`` for big
    bundles, so a 50 MB download on a slow line is not cut short.
    """

    connect: float = 10.0
    gap: float = 10.0
    total: float = 60.0
    min_rate: float = 256 * 1024
    chunk_size: int = 1024 * 1024

    def deadline_for(self, max_length: int) -> float:
        return self.total + max_length / self.min_rate

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> FetchLimits:
        value = (os.environ if env is None else env).get(TIMEOUT_ENV, "").strip()
        if not value:
            return cls()
        seconds = parse_duration(value, what=TIMEOUT_ENV).total_seconds()
        return cls(connect=seconds, gap=seconds, total=max(seconds, 1.0) * 6)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """``90s``, ``12h``, ``7d``, ``2w`` (a bare number is seconds)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise ValidationError(
            f"{what}: {text[:40]!r} is not a positive duration (e.g. 90s, 12h, 7d, 2w)"
        )
    from datetime import timedelta

    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_expiries(items: list[str] | None) -> dict[str, timedelta]:
    """``["timestamp=12h", "snapshot=3d"]`` -> expiry per role (only those given)."""
    result: dict[str, timedelta] = {}
    for item in items or ():
        role, sep, value = item.partition("=")
        role = role.strip()
        if not sep or role not in ROLES:
            raise ValidationError(
                f"--expires {item[:60]!r}: expected ROLE=DURATION with ROLE one of "
                f"{', '.join(ROLES)} (e.g. --expires timestamp=12h)"
            )
        result[role] = parse_duration(value, what=f"--expires {role}")
    return result
