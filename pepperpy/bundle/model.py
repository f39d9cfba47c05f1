"""Typed access to a validated ``plugin.json`` (pydantic; imported only when needed).

Invariant: a ``PluginManifest`` is only built by :func:`pepperpy.bundle.manifest.parse_manifest`
after the strict JSON and schema checks, so the model re-checks types, not policy.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LockedRequirement", "PluginManifest"]


class LockedRequirement(BaseModel):
    """One hash-pinned dependency from ``dependency_lock``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    hashes: tuple[str, ...]

    @property
    def pin(self) -> str:
        """``name==version``, as passed to uv."""
        return f"{self.name}=={self.version}"

    def requirement_line(self) -> str:
        """A requirements-file line for ``uv pip install --require-hashes -r``."""
        return " ".join([self.pin, *(f"--hash={h}" for h in self.hashes)])


class PluginManifest(BaseModel):
    """The manifest of one plugin bundle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    category: str
    provider_name: str
    entry_point: str
    description: str = ""
    author: str = ""
    pepperpy_compatibility: str | None = None
    dependencies: tuple[str, ...] = ()
    python_requires: str | None = None
    license: str | None = None
    homepage: str | None = None
    config_schema: dict[str, Any] | None = None
    source_builds: tuple[str, ...] = ()
    dependency_lock: tuple[LockedRequirement, ...] | None = Field(default=None)

    @property
    def module(self) -> str:
        """The module part of ``entry_point``."""
        return self.entry_point.split(":", 1)[0]

    @property
    def class_name(self) -> str:
        return self.entry_point.split(":", 1)[1]

    @property
    def secret_config_keys(self) -> frozenset[str]:
        """Config keys marked ``"secret": true``: never shown in output or errors."""
        props = (self.config_schema or {}).get("properties", {})
        return frozenset(k for k, v in props.items() if isinstance(v, dict) and v.get("secret"))
