"""What a verified plugin needs from the environment: its requirements and lock pins.

Plain data, built by the plugin manager from a *verified* manifest only; checked and
installed by ``dependencies`` (imported only when the memo in ``depcache`` cannot
answer, so a load whose dependencies are known to be met never imports it).
"""

from __future__ import annotations

from pepperpy._record import field, record

__all__ = ["DependencySpec", "LockedRequirement"]


@record
class LockedRequirement:
    """One exact pin from a signed manifest's dependency lock."""

    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>"
    marker: str | None = None

    def line(self) -> str:
        hashes = "".join(f" --hash={h}" for h in self.hashes)
        return f"{self.pin()}{hashes}"

    def pin(self) -> str:
        marker = f" ; {self.marker}" if self.marker else ""
        return f"{self.name}=={self.version}{marker}"


@record
class DependencySpec:
    """What one verified plugin needs from the environment."""

    plugin: str
    requirements: tuple[str, ...] = ()
    lock: tuple[LockedRequirement, ...] = ()
    source_builds: frozenset[str] = field(default_factory=frozenset)

    def needs(self) -> tuple[str, ...]:
        """Every requirement string: the ranges and the exact lock pins."""
        return (*self.requirements, *(p.pin() for p in self.lock))
