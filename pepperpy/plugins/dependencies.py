"""Compare a verified plugin's dependencies with this environment; install with uv.

Invariants:
- Callers pass requirements taken from a *verified* manifest only. This module never
  reads a bundle, and it is only reached after verification (docs/security.md, promise 1).
- The check is in-process (packaging, markers evaluated): when everything is satisfied
  no subprocess starts. Installed versions come from the ``NAME-VERSION.dist-info``
  folder names on ``sys.path`` (``_DistIndex``, cached per process and rebuilt when a
  ``sys.path`` folder's mtime changes), which is what importlib.metadata finds, without
  parsing each METADATA file; anything that index cannot answer with certainty
  (a name it did not find, zip or egg installs, odd folder names, another finder of
  distributions) is asked of ``importlib.metadata`` itself. A check that passed is
  remembered (``depcache``) only while the interpreter, every ``sys.path`` folder and
  the METADATA it read keep their identities: a fresh process then skips the check
  (and the ``packaging`` import an extra or a marker needs) until anything changes.
- uv runs sealed: ``--no-config`` (no uv.toml/pyproject.toml from the CWD), every
  ``UV_*``/``PIP_*`` variable except ``UV_CACHE_DIR`` removed from its environment, the
  index and wheel folders from ``Settings`` only, requirements as arguments (or a
  hash-pinned file PepperPy writes itself from the signed lock), wheels only except the
  packages that the manifest declares *and* the operator allows to build from source.
- The host survives its plugins: before uv installs anything, the packages the core
  and every other installed plugin run on (``constraints``; other plugins' needs come
  from ``deprecord``, written from verified manifests only) are pinned to their
  installed versions in a ``--constraint`` file PepperPy writes into its private
  temporary folder. A plugin requirement that one of them does not meet is refused
  in-process; otherwise a sealed ``--dry-run`` resolves first, and only a plan that
  changes none of them is installed, with the same constraints. A conflict is a
  ``DependencyConflictError`` naming the package, who needs what, and the fix.
- uv runs under a lock, with a time limit, its output relayed as progress; afterwards
  the check runs again, and anything still missing is an error (nothing half-installed
  counts as installed). Satisfied requirements are recorded (``deprecord``), so that
  later installs for other plugins keep them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pepperpy._record import record
from pepperpy.core import DependencyError
from pepperpy.plugins.depcache import DependencySpec, LockedRequirement
from pepperpy.plugins.deprecord import remember
from pepperpy.plugins.locking import file_lock
from pepperpy.printable import printable
from pepperpy.settings import Settings

if TYPE_CHECKING:
    from pepperpy.plugins.constraints import Protected
    from pepperpy.plugins.distindex import DistIndex as _DistIndex

__all__ = [
    "DependencySpec",
    "LockedRequirement",
    "Unsatisfied",
    "ensure_dependencies",
    "find_unsatisfied",
    "uv_command",
]

_KEPT_UV_VARIABLES = frozenset({"UV_CACHE_DIR"})
_TAIL_LINES = 12
_KEPT_LINES = 20_000  # enough for any install plan uv prints


@record
class Unsatisfied:
    """A requirement this environment does not meet."""

    requirement: str
    found: str | None

    def describe(self) -> str:
        if self.found is None:
            return f"{self.requirement} (not installed)"
        return f"{self.requirement} (found {self.found})"


def find_unsatisfied(
    requirements: Sequence[str], *, lock: Sequence[LockedRequirement] = ()
) -> list[Unsatisfied]:
    """Requirements (and lock pins) not met by installed distributions. No subprocess."""
    return _check(requirements, lock, _Sources())


class _Sources:
    """What one check read: the ``.dist-info`` folders whose METADATA gave an extra's
    requirements, and whether every answer came from the dist index (``exact``) rather
    than from an ``importlib.metadata`` fallback (``depcache`` remembers only those)."""

    __slots__ = ("exact", "folders")

    def __init__(self) -> None:
        self.exact: bool = True
        self.folders: list[str] = []


def _check(requirements: Sequence[str], lock: Sequence[LockedRequirement],
           sources: _Sources) -> list[Unsatisfied]:
    missing: list[Unsatisfied] = []
    seen: set[str] = set()
    index = _dist_index()
    if index is None:
        sources.exact = False
    texts = [t for t in (*requirements, *(p.pin() for p in lock)) if not _plainly_met(t, index)]
    pending = [_requirement(r) for r in texts]
    while pending:
        req = pending.pop()
        key = f"{req}"
        if key in seen or not _marker_applies(req):
            continue
        seen.add(key)
        found = _installed_version(req.name, index, sources)
        if found is None or not _contains(req, found):
            missing.append(Unsatisfied(str(req), found))
        elif req.extras:
            pending.extend(_extra_requirements(req.name, req.extras, index, sources))
    return sorted(missing, key=lambda u: u.requirement)


# ``name``, ``name>=1.40`` or ``name>=1,<2``: release numbers only, no extras, marker or URL.
_PLAIN = re.compile(
    r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"((?:\s*(?:>=|<=|>|<|==|!=)\s*[0-9]+(?:\.[0-9]+)*\s*,)*"
    r"\s*(?:(?:>=|<=|>|<|==|!=)\s*[0-9]+(?:\.[0-9]+)*)?)\s*"
)


def _plainly_met(text: str, index: _DistIndex | None) -> bool:
    """True only if a plain requirement is certainly met; anything else goes to packaging.

    Importing ``packaging.requirements`` costs about 10 ms per process, more than the
    rest of the check. A plain requirement means the same to packaging as here (a
    name and release-number clauses, compared by ``pepperpy._versions``' PEP 440 rules); an unmet
    one is parsed by packaging anyway, so what the user reads does not change.
    """
    found = _PLAIN.fullmatch(text)
    version = index.version(found.group(1)) if found and index is not None else None
    if version is None:
        return False
    from pepperpy._versions import admits

    return not found.group(2).strip() or admits(found.group(2), version)  # type: ignore[union-attr]


# Parsing a requirement, evaluating its marker and a specifier check are pure functions
# of their text (the marker environment is this interpreter's, fixed for the process),
# so each is done once per process.
@lru_cache(maxsize=1024)
def _requirement(text: str) -> Any:
    from packaging.requirements import Requirement

    return Requirement(text)


def _marker_applies(req: Any) -> bool:
    return req.marker is None or _evaluate_marker(str(req.marker))


@lru_cache(maxsize=1024)
def _evaluate_marker(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker).evaluate({"extra": ""})


def _contains(req: Any, version: str) -> bool:
    return _specifier_contains(str(req.specifier), version)


@lru_cache(maxsize=1024)
def _specifier_contains(specifier: str, version: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(version, prereleases=True)


def _installed_version(name: str, index: _DistIndex | None = None,
                       sources: _Sources | None = None) -> str | None:
    """The installed version of ``name`` as importlib.metadata would report it."""
    if index is not None:
        found = index.version(name)
        if found is not None:
            return found
    if sources is not None:
        sources.exact = False
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _dist_index() -> _DistIndex | None:
    from pepperpy.plugins.distindex import current

    return current()


def _extra_requirements(name: str, extras: set[str], index: _DistIndex | None,
                        sources: _Sources) -> list[Any]:
    """The requirements a distribution adds for ``extras`` (markers evaluated), read
    from the ``.dist-info`` folder the index vouches for (the one importlib.metadata
    finds) when it does."""
    from importlib import metadata

    from packaging.requirements import Requirement

    folder = index.folder(name) if index is not None else None
    if folder is None:
        sources.exact = False
        lines = metadata.requires(name)
    else:
        sources.folders.append(folder)  # before reading: a later change is a mismatch
        lines = metadata.PathDistribution(Path(folder)).requires
    out = []
    for line in lines or ():
        req = Requirement(line)
        if req.marker is None:
            continue  # base requirements: the distribution's own installer handled them
        if any(req.marker.evaluate({"extra": extra}) for extra in extras):
            out.append(Requirement(f"{req.name}{req.specifier}"))
    return out


def uv_command(
    spec: DependencySpec,
    *,
    settings: Settings,
    python: str | None = None,
    requirements_file: Path | None = None,
    constraints_file: Path | None = None,
    dry_run: bool = False,
) -> list[str]:
    """The exact, sealed uv invocation PepperPy runs for ``spec``."""
    import uv

    cmd = [uv.find_uv_bin(), "pip", "install", "--python", python or sys.executable]
    cmd += ["--no-config", "--no-progress", "--color", "never"]
    # Compiled once at install: with PYTHONDONTWRITEBYTECODE set (containers, CI),
    # chromadb would otherwise be compiled from source on every start (1.9 s vs 0.65 s).
    cmd.append("--compile-bytecode")
    if dry_run:
        cmd.append("--dry-run")
    if constraints_file is not None:
        cmd += ["--constraint", str(constraints_file)]
    if settings.no_index:
        cmd.append("--no-index")
    elif settings.index_url:
        cmd += ["--default-index", _absolute_index(settings.index_url)]
    for folder in settings.find_links:  # absolute: uv runs in a private temp folder
        cmd += ["--find-links", str(Path(folder).absolute())]
    cmd += ["--only-binary", ":all:"]
    # uv lets --no-binary override --only-binary :all: per package: those (and only
    # those) are built from source. Both the signed manifest and the operator must agree.
    for name in sorted(_source_build_exceptions(spec, settings)):
        cmd += ["--no-binary", name]
    if requirements_file is not None:
        cmd += ["--require-hashes", "--requirements", str(requirements_file)]
    else:
        cmd += ["--", *spec.requirements]
    return cmd


def _absolute_index(index: str) -> str:
    """A URL as given; a local folder path made absolute (uv runs in a temp folder)."""
    if "://" in index or index.startswith("file:"):
        return index
    return str(Path(index).absolute())


def _source_build_exceptions(spec: DependencySpec, settings: Settings) -> set[str]:
    """Packages uv may build from source: declared by the signed manifest, allowed by
    the operator, and with no wheel in the operator's find-links folders (uv's
    ``--no-binary`` would ignore such a wheel and build anyway)."""
    from packaging.utils import canonicalize_name

    declared = {canonicalize_name(n) for n in spec.source_builds}
    allowed = {str(n) for n in declared if n in settings.allow_source_builds}
    return {n for n in allowed if not _has_local_wheel(n, settings.find_links)}


def _has_local_wheel(name: str, folders: Sequence[Path]) -> bool:
    stem = name.replace("-", "_")
    return any(any(Path(f).glob(f"{stem}-*.whl")) for f in folders if Path(f).is_dir())


def command_hint(spec: DependencySpec, *, settings: Settings) -> str:
    """The operator-facing fix: the pepperpy command, and the uv command it runs."""
    import shlex

    locked = Path("<locked.txt>") if spec.lock else None
    shown = uv_command(spec, settings=settings, requirements_file=locked,
                       constraints_file=Path("<installed core and plugin packages>"))
    return f"pepperpy plugin deps {spec.plugin}  (runs: {shlex.join(shown)})"


def ensure_dependencies(
    spec: DependencySpec,
    *,
    settings: Settings,
    auto_install: bool,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Return when ``spec`` is satisfied; install with uv if allowed, else raise.

    Raises ``DependencyConflictError`` (a ``DependencyError``), before anything is
    installed, when the plugin would change a package the core or another installed
    plugin needs.
    """
    from pepperpy.plugins import depcache

    if depcache.already_met(spec, settings):
        return
    env = depcache.environment()  # taken first: a change during the check never matches
    sources = _Sources()
    missing = _check(spec.requirements, spec.lock, sources)
    if not missing:
        if env is not None and sources.exact:
            depcache.remember_met(settings, env, spec.needs(), sources.folders)
        remember(settings, plugin=spec.plugin, lines=spec.needs())
        return
    hint = command_hint(spec, settings=settings)
    listed = ", ".join(u.describe() for u in missing)
    if not auto_install:
        if any(u.found is not None for u in missing):  # a conflict needs an installed one
            _refuse_direct_conflicts(spec, _protected(spec, settings))
        raise DependencyError(
            f"plugin {spec.plugin!r} needs {listed}; auto-install is off "
            f"(PEPPERPY_AUTO_INSTALL=0): run {hint}",
            plugin=spec.plugin,
            command=f"pepperpy plugin deps {spec.plugin}",
        )
    with file_lock(settings.cache_dir / "uv.lock"):
        _invalidate_metadata_caches()
        if find_unsatisfied(spec.requirements, lock=spec.lock):
            protected = _protected(spec, settings)
            _refuse_direct_conflicts(spec, protected)
            _run_uv(spec, settings=settings, progress=progress or _stderr,
                    protected=protected)
            _invalidate_metadata_caches()
    still = find_unsatisfied(spec.requirements, lock=spec.lock)
    if still:
        raise DependencyError(
            f"plugin {spec.plugin!r}: uv finished but "
            f"{', '.join(u.describe() for u in still)} is still unmet; "
            f"check the index and the plugin's requirements, then run {hint}",
            plugin=spec.plugin,
            command=f"pepperpy plugin deps {spec.plugin}",
        )
    remember(settings, plugin=spec.plugin, lines=spec.needs())


def _protected(spec: DependencySpec, settings: Settings) -> dict[str, Protected]:
    """What the core and every other installed plugin run on (in-process)."""
    from pepperpy.plugins.constraints import protected_distributions
    from pepperpy.plugins.deprecord import other_plugins_requirements

    return protected_distributions(other_plugins_requirements(settings, plugin=spec.plugin))


def _refuse_direct_conflicts(spec: DependencySpec, protected: dict[str, Protected]) -> None:
    from pepperpy.plugins.constraints import DependencyConflictError, direct_conflicts

    conflicts = direct_conflicts(spec.needs(), protected)
    if conflicts:
        raise DependencyConflictError(spec.plugin, conflicts)


def _invalidate_metadata_caches() -> None:
    import importlib

    from pepperpy.plugins.distindex import invalidate

    importlib.invalidate_caches()
    invalidate()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@record
class _Run:
    """One finished uv run: exit status, its output lines (bounded), timed out or not."""

    code: int
    lines: tuple[str, ...]
    timed_out: bool

    @property
    def tail(self) -> list[str]:
        return list(self.lines[-_TAIL_LINES:])


def _run_uv(spec: DependencySpec, *, settings: Settings, progress: Callable[[str], None],
            protected: dict[str, Protected]) -> None:
    """Resolve with the host's packages pinned (dry run), check the plan, then install."""
    import tempfile
    import time

    from pepperpy.plugins.constraints import constraint_lines

    deadline = time.monotonic() + settings.uv_timeout
    with tempfile.TemporaryDirectory(prefix="pepperpy-uv-") as tmp:
        req_file = None
        if spec.lock:
            req_file = Path(tmp) / "locked-requirements.txt"
            req_file.write_text("".join(p.line() + "\n" for p in spec.lock), encoding="utf-8")
        pins = Path(tmp) / "constraints.txt"  # PepperPy's own file, never a plugin's
        pins.write_text("".join(constraint_lines(protected)), encoding="utf-8")

        def run(*, constrained: bool = True, dry_run: bool = False,
                relay: Callable[[str], None] = progress) -> _Run:
            cmd = uv_command(spec, settings=settings, requirements_file=req_file,
                             constraints_file=pins if constrained else None, dry_run=dry_run)
            return _stream(cmd, cwd=tmp, timeout=max(deadline - time.monotonic(), 0.0),
                           progress=relay)

        builds = _source_build_exceptions(spec, settings)
        if builds:
            progress(f"pepperpy: building from source (allowed by operator): {sorted(builds)}")
        progress(f"pepperpy: resolving dependencies of {spec.plugin!r} with uv, keeping "
                 f"{len(protected)} installed packages of the core and other plugins: "
                 f"{', '.join(spec.requirements) or '(locked set)'}")
        _check_plan(spec, settings=settings, protected=protected, progress=progress,
                    dry=run(dry_run=True), free=lambda: run(constrained=False, dry_run=True,
                                                            relay=_quiet))
        progress(f"pepperpy: installing dependencies of {spec.plugin!r} with uv")
        _raise_if_failed(spec, settings, run())


def _quiet(line: str) -> None:
    pass


def _check_plan(spec: DependencySpec, *, settings: Settings, protected: dict[str, Protected],
                progress: Callable[[str], None], dry: _Run, free: Callable[[], _Run]) -> None:
    """Refuse a plan that changes a protected package; diagnose a failed resolution.

    When the pinned resolution fails, an unpinned dry run tells a conflict (it would
    succeed by moving a protected package) from an ordinary failure (it fails too).
    """
    from pepperpy.plugins.constraints import (
        DependencyConflictError,
        conflicts_in_plan,
        parse_plan,
    )

    if dry.code != 0 and not dry.timed_out:
        unpinned = free()
        if unpinned.code == 0:
            conflicts = conflicts_in_plan(parse_plan(unpinned.lines), protected)
            if conflicts:
                said = [ln.strip() for ln in dry.tail if not ln.startswith("Using Python")]
                raise DependencyConflictError(
                    spec.plugin, conflicts,
                    detail=" (uv, with them pinned: " + " | ".join(said[-4:]) + ")")
    _raise_if_failed(spec, settings, dry)
    plan = parse_plan(dry.lines)
    conflicts = conflicts_in_plan(plan, protected)
    if conflicts:  # the pins should make this impossible; never install such a plan
        raise DependencyConflictError(spec.plugin, conflicts, detail=" (uv's plan)")
    for key in sorted(set(plan.removed) - set(protected)):
        new = plan.added.get(key)
        progress(f"pepperpy: note: this changes {key} {plan.removed[key]} -> "
                 f"{new or 'removed'}, which neither the core nor an installed plugin needs")


def _raise_if_failed(spec: DependencySpec, settings: Settings, run: _Run) -> None:
    if run.timed_out:
        reason = f"uv did not finish within {settings.uv_timeout:g} s (PEPPERPY_UV_TIMEOUT)"
    elif run.code != 0:
        reason = f"uv exited with status {run.code}"
    else:
        return
    raise DependencyError(
        f"plugin {spec.plugin!r}: installing its dependencies failed: {reason}: "
        + " | ".join(run.tail) + _where_uv_looked(settings)
        + f"; fix the cause, then run {command_hint(spec, settings=settings)}",
        plugin=spec.plugin,
        command=f"pepperpy plugin deps {spec.plugin}",
    )


def _where_uv_looked(settings: Settings) -> str:
    """Offline, uv's own hint (``--find-links``) is not an option users pass to PepperPy."""
    if not settings.no_index:
        return ""
    folders = ":".join(map(str, settings.find_links)) or "not set"
    return (f" (PEPPERPY_NO_INDEX=1: uv looks for wheels only in the PEPPERPY_FIND_LINKS "
            f"folders, {folders}; put the wheels there, or unset PEPPERPY_NO_INDEX)")


def _sealed_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("UV_", "PIP_")) and k not in _KEPT_UV_VARIABLES)
        and k not in {"VIRTUAL_ENV", "CONDA_PREFIX"}
    }


def _stream(
    cmd: list[str], *, cwd: str, timeout: float, progress: Callable[[str], None]
) -> _Run:
    """Run ``cmd``, relaying its output lines as progress; keep them (bounded)."""
    import subprocess
    import threading
    from collections import deque

    lines: deque[str] = deque(maxlen=_KEPT_LINES)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=_sealed_environment(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace",
    )
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, _kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if line:
                lines.append(line)
                progress(f"  uv: {printable(line)}")
        code = proc.wait()
    finally:
        timer.cancel()
    return _Run(code, tuple(lines), timed_out.is_set())
