"""What a plugin's dependencies may not change: the core's and other plugins' packages.

A trusted plugin that asks for ``jsonschema<2`` must not get it installed over the
core's own jsonschema (every later process would fail to start), nor downgrade a
library another installed plugin runs on. This module computes the *protected* set
and the conflicts; ``dependencies`` turns them into uv ``--constraint`` pins and
refusals.

Invariants:
- Protected = every installed distribution that a protected requirement reaches,
  transitively through installed distributions' ``Requires-Dist`` (markers and
  requested extras evaluated), each pinned to its installed version. The roots are
  the requirements of the installed distributions that ship ``pepperpy``
  (:data:`CORE_DISTRIBUTIONS`) and those distributions themselves, read with
  ``importlib.metadata``, and the recorded requirements of every
  *other* plugin in the install state (``deprecord``: written only from verified
  manifests). Stricter than "the core's specifiers": a plugin may add packages, never
  move one the host already runs on, even within the core's own range.
- Without any of their metadata (a source tree on ``sys.path``, not installed) the
  core's requirements are unknown, so every installed distribution is protected.
- Pure computation over installed metadata: no subprocess, no network, nothing written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pepperpy.core import DependencyError
from pepperpy.plugins.distindex import canonical_name

__all__ = [
    "CORE",
    "Conflict",
    "DependencyConflictError",
    "Protected",
    "conflicts_in_plan",
    "constraint_lines",
    "direct_conflicts",
    "parse_plan",
    "protected_distributions",
]

CORE = "the PepperPy core"
# The distributions that ship the `pepperpy` import package: the runtime, the authors'
# and the tests' (tools/dists.py), and a source checkout installed in development mode.
CORE_DISTRIBUTIONS = ("pepperplug", "pepperplug-dev", "pepperplug-testing", "pepperpy")
_SHOWN_OWNERS = 3


@dataclass(frozen=True)
class Protected:
    """One installed distribution the host runs on, and who needs it (for messages)."""

    name: str
    version: str
    needed_by: tuple[str, ...]  # e.g. "the PepperPy core (jsonschema>=4.20)"
    plugins: tuple[str, ...] = ()  # the installed plugins among those that need it


@dataclass(frozen=True)
class Conflict:
    """A protected package the plugin would change."""

    package: str
    installed: str
    wanted: str  # the plugin's requirement, or the version uv would switch to
    needed_by: tuple[str, ...]
    plugins: tuple[str, ...] = ()

    def describe(self) -> str:
        owners = "; ".join(self.needed_by[:_SHOWN_OWNERS])
        more = len(self.needed_by) - _SHOWN_OWNERS
        if more > 0:
            owners += f"; and {more} more"
        return (f"it needs {self.wanted}, but {self.package} {self.installed} is installed "
                f"and needed by {owners}")


class DependencyConflictError(DependencyError):
    """A plugin's dependencies would change a package the core or another plugin needs.

    Raised before uv installs anything; ``.conflicts`` names each package.
    """

    def __init__(self, plugin: str, conflicts: Sequence[Conflict], *, detail: str = "") -> None:
        self.conflicts = tuple(conflicts)
        listed = "; ".join(f"{c.package}: {c.describe()}" for c in self.conflicts)
        others = sorted({p for c in self.conflicts for p in c.plugins})
        fix = (f"use a version of {plugin!r} whose requirements accept the installed "
               "versions (ask its publisher to widen them)")
        if others:
            fix += (", or remove the plugin that needs it if you no longer use it ("
                    + ", ".join(f"`pepperpy plugin remove {p}`" for p in others) + ")")
        fix += (", or install the version it needs yourself (uv pip install) only if the "
                "core and every plugin that needs the package accept that version")
        super().__init__(
            f"plugin {plugin!r} refused: its dependencies would change packages the host "
            f"runs on ({listed}); nothing was installed{detail}. Fix: {fix}",
            plugin=plugin,
        )


def protected_distributions(
    plugin_requirements: Mapping[str, Sequence[str]],
) -> dict[str, Protected]:
    """Canonical name -> protected distribution (see the module invariants).

    ``plugin_requirements`` maps each *other* installed plugin to its recorded
    requirement strings.
    """
    from importlib import metadata

    cores = []
    for name in CORE_DISTRIBUTIONS:
        try:
            cores.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            continue
    if not cores:
        return _everything_installed()
    walk = _Walk()
    for core in cores:
        walk.add_dist(core, owner=CORE, why=f"{CORE} (itself)", extras=(), follow=False)
        for line in core.requires or ():
            walk.add(line, owner=CORE, parent=None, extras=())
    for plugin, lines in sorted(plugin_requirements.items()):
        for line in lines:
            walk.add(line, owner=f"plugin {plugin!r}", parent=None, extras=(), plugin=plugin)
    walk.run()
    return walk.protected()


class _Walk:
    """Breadth-first closure over installed distributions."""

    def __init__(self) -> None:
        self.versions: dict[str, tuple[str, str]] = {}  # key -> (name, version)
        self.owners: dict[str, list[str]] = {}
        self.extras_seen: dict[str, set[str]] = {}
        self.plugins: dict[str, set[str]] = {}
        # (parent "name version", its Requires-Dist lines, owner, requested extras, plugin)
        self.queue: deque[tuple[str, tuple[str, ...], str, str, str | None]] = deque()

    def add(self, line: str, *, owner: str, parent: str | None, extras: Iterable[str],
            plugin: str | None = None) -> None:
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            req = Requirement(line)
        except InvalidRequirement:
            return  # metadata we cannot read protects nothing more than its owner
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": e}) for e in ("", *extras)
        ):
            return
        dist = _installed(req.name)
        if dist is None:
            return  # nothing installed to keep
        spec = f"{req.name}{req.specifier}" if str(req.specifier) else req.name
        why = f"{owner} ({spec})" if parent is None else (
            f"{parent} ({spec}), which {owner} needs")
        self.add_dist(dist, owner=owner, why=why, extras=sorted(req.extras), plugin=plugin)

    def add_dist(self, dist: Any, *, owner: str, why: str, extras: Sequence[str],
                 follow: bool = True, plugin: str | None = None) -> None:
        meta = dist.metadata  # parsed on every access: read once
        name, version = meta["Name"] or "", meta["Version"] or ""
        key = canonical_name(name)
        if not key:
            return
        owners = self.owners.setdefault(key, [])
        if why not in owners:
            owners.append(why)
        if plugin is not None:
            self.plugins.setdefault(key, set()).add(plugin)
        seen = self.extras_seen.get(key)
        new_extras = set(extras) - (seen or set())
        if seen is not None and not new_extras:
            return
        self.extras_seen[key] = (seen or set()) | set(extras)
        self.versions[key] = (name, version)
        if follow:
            requires = tuple(meta.get_all("Requires-Dist") or ())
            self.queue.append((f"{name} {version}", requires, owner,
                               ",".join(sorted(new_extras)), plugin))

    def run(self) -> None:
        while self.queue:
            parent, requires, owner, extras, plugin = self.queue.popleft()
            for line in requires:
                self.add(line, owner=owner, parent=parent,
                         extras=extras.split(",") if extras else (), plugin=plugin)

    def protected(self) -> dict[str, Protected]:
        return {k: Protected(name, version, tuple(self.owners[k]),
                             tuple(sorted(self.plugins.get(k, ()))))
                for k, (name, version) in sorted(self.versions.items())}


def _installed(name: str) -> Any:
    from importlib import metadata

    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def _everything_installed() -> dict[str, Protected]:
    from importlib import metadata

    why = ("this environment (PepperPy's own package metadata was not found, so "
           "every installed distribution is kept)")
    out: dict[str, Protected] = {}
    for dist in metadata.distributions():
        meta = dist.metadata
        name = meta["Name"]
        if name and canonical_name(name) not in out:  # the first on sys.path wins
            out[canonical_name(name)] = Protected(name, meta["Version"], (why,))
    return out


def constraint_lines(protected: Mapping[str, Protected]) -> list[str]:
    """uv constraint-file lines: each protected distribution pinned to its version."""
    return [f"{p.name}=={p.version}\n" for _, p in sorted(protected.items())]


def direct_conflicts(
    requirements: Iterable[str], protected: Mapping[str, Protected]
) -> list[Conflict]:
    """The plugin's own requirements that a protected installed version does not meet."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    found: dict[str, Conflict] = {}
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonical_name(req.name)
        have = protected.get(key)
        if have is None or SpecifierSet(str(req.specifier)).contains(
                have.version, prereleases=True):
            continue
        found.setdefault(key, Conflict(have.name, have.version, str(req), have.needed_by,
                                       have.plugins))
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True)
class Plan:
    """What ``uv pip install --dry-run`` would change (canonical name -> version)."""

    removed: Mapping[str, str]
    added: Mapping[str, str]


def parse_plan(lines: Iterable[str]) -> Plan:
    """Read uv's dry-run plan lines (`` - name==1.0``, `` + name==2.0``)."""
    removed: dict[str, str] = {}
    added: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if line[:2] not in ("- ", "+ ", "~ ") or "==" not in line:
            continue
        name, _, version = line[2:].split(" ", 1)[0].partition("==")
        target = removed if line[0] == "-" else added
        target[canonical_name(name)] = version
    return Plan(removed, added)


def conflicts_in_plan(plan: Plan, protected: Mapping[str, Protected]) -> list[Conflict]:
    """Protected packages the plan would remove, or install at another version (uv may
    not see a package the running process imports from elsewhere on ``sys.path``)."""
    out = []
    for key in sorted({*plan.removed, *plan.added}):
        have = protected.get(key)
        new = plan.added.get(key)
        if have is None or new == have.version:
            continue
        wanted = (f"{have.name}=={new} through its dependencies" if new
                  else f"{have.name} removed through its dependencies")
        out.append(Conflict(have.name, have.version, wanted, have.needed_by, have.plugins))
    return out
