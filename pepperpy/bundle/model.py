"""Typed access to a validated ``plugin.json``: plain frozen dataclasses.

Invariant: a ``PluginManifest`` is only built by :func:`from_validated`, from an object
that passed the strict JSON, schema and field checks of
:func:`pepperpy.bundle.manifest.parse_manifest` (or from the verified cache, which holds
only manifests that passed them). The schema already fixes every field's type
(``additionalProperties: false`` at each level), so nothing is validated twice here.

Why dataclasses and not pydantic: a process that loads one installed plugin should pay
for the plugin's own imports, not for a validation library; ``tests/bundle/test_model.py``
checks that the schema's fields are exactly these fields.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any

from pepperpy._record import record

__all__ = ["LockedRequirement", "PluginManifest", "from_validated"]


@record
class LockedRequirement:
    """One hash-pinned dependency from ``dependency_lock``."""

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


@record
class PluginManifest:
    """The manifest of one plugin bundle."""

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
    config_schema: dict[str, Any] | None = field(default=None, hash=False)
    source_builds: tuple[str, ...] = ()
    dependency_lock: tuple[LockedRequirement, ...] | None = None

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

    def as_json(self) -> dict[str, Any]:
        """The manifest as JSON-ready data, fields left at their default omitted."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == f.default:
                continue
            if f.name == "dependency_lock":
                value = [{"name": p.name, "version": p.version, "hashes": list(p.hashes)}
                         for p in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def from_validated(value: dict[str, Any]) -> PluginManifest:
    """The manifest for a ``plugin.json`` object that passed the schema and field checks.

    Arrays become tuples and lock entries ``LockedRequirement``; never call this with
    data the schema did not accept.
    """
    data = dict(value)
    for key in ("dependencies", "source_builds"):
        if key in data:
            data[key] = tuple(data[key])
    if data.get("dependency_lock") is not None:
        data["dependency_lock"] = tuple(
            LockedRequirement(p["name"], p["version"], tuple(p["hashes"]))
            for p in data["dependency_lock"]
        )
    return PluginManifest(**data)
