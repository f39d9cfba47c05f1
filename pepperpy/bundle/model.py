"""Typed access to a validated ``plugin.json`` (pydantic; imported only when needed).

Invariant: a ``PluginManifest`` is only built by :func:`pepperpy.bundle.manifest.parse_manifest`
after the strict JSON and schema checks. The schema already fixes every field's type
(``additionalProperties: false`` at each level), so :func:`from_validated` builds the
model with ``model_construct`` instead of validating the same data twice, and the
models use ``defer_build``: pydantic builds no validator in a process that only loads
plugins (that build, and the plugin-entry-point scan pydantic does for it, cost more
than the rest of a load). ``tests/bundle/test_model.py`` checks that the schema's
fields are the model's and that both ways of building give equal models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LockedRequirement", "PluginManifest", "from_validated"]


class LockedRequirement(BaseModel):
    """One hash-pinned dependency from ``dependency_lock``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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


def from_validated(value: dict[str, Any]) -> PluginManifest:
    """The model for a ``plugin.json`` object that passed the schema and field checks.

    Only the JSON-to-Python shape changes pydantic would make are made here (arrays
    become tuples, lock entries become ``LockedRequirement``); never call this with
    data the schema did not accept.
    """
    fields = dict(value)
    for key in ("dependencies", "source_builds"):
        if key in fields:
            fields[key] = tuple(fields[key])
    if fields.get("dependency_lock") is not None:
        fields["dependency_lock"] = tuple(
            LockedRequirement.model_construct(
                name=p["name"], version=p["version"], hashes=tuple(p["hashes"])
            )
            for p in fields["dependency_lock"]
        )
    return PluginManifest.model_construct(**fields)
