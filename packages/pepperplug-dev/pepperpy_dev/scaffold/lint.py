"""``pepperpy plugin lint`` (and ``plugin build --check``): what a build cannot see.

A build checks the manifest and the archive. Lint also imports the entry point through
the verified path (built with a throwaway key), checks the class against its
category's interface, the config schema and its defaults, the README a bundle must
carry, and that uv can resolve the dependencies for this Python (``--dry-run``, wheels
only, PepperPy's own index settings). Each problem is one line saying what to fix.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from pepperpy.core import PepperpyError

__all__ = ["README_NAME", "lint_plugin"]

README_NAME = "README.md"


def lint_plugin(src: Path, *, resolve: bool = True) -> list[str]:
    """Every problem found in the plugin folder ``src`` (empty when it is ready)."""
    from pepperpy.bundle.build import collect_files
    from pepperpy.trust.manifest import parse_manifest

    src = Path(src)
    try:
        files, skipped = collect_files(src)
        manifest = parse_manifest(dict(files)["plugin.json"])
    except PepperpyError as exc:
        return [f"plugin.json / files: {exc}"]
    problems = [f"{name}: not an allowed file type, so the build leaves it out"
                for name in skipped]
    problems += _schema_problems(manifest.config_schema)
    problems += _readme_problems(dict(files).get(README_NAME), manifest)
    problems += _load_problems(src)
    if resolve and manifest.dependencies:
        problems += _resolve_problems(manifest)
    return problems


def _schema_problems(schema: dict[str, Any] | None) -> list[str]:
    if schema is None:
        return ["config_schema: missing; declare every option (an empty object schema "
                "with additionalProperties: false if there are none)"]
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"config_schema: not a valid JSON Schema: {exc.message}"]
    problems = []
    if schema.get("additionalProperties") is not False:
        problems.append("config_schema: set \"additionalProperties\": false so typos in "
                        "options are refused")
    for key, spec in schema.get("properties", {}).items():
        if _credential_name(key) and not spec.get("secret"):
            problems.append(f"config_schema: option {key!r} looks like a credential; mark "
                            "it \"secret\": true so PepperPy never shows its value")
        if "default" in spec:
            errors = list(Draft202012Validator(spec).iter_errors(spec["default"]))
            if errors:
                problems.append(f"config_schema: the default of {key!r} does not validate: "
                                f"{errors[0].message}")
    return problems


_CREDENTIAL_WORDS = frozenset({"key", "apikey", "password", "passwd", "secret", "token",
                               "dsn", "auth", "credential", "credentials"})


def _credential_name(key: str) -> bool:
    """``api_key``, ``auth_token``, ``dsn``: named like a credential (``max_tokens`` not)."""
    return bool(_CREDENTIAL_WORDS & set(key.lower().replace("-", "_").split("_")))


def _readme_problems(readme: bytes | None, manifest: Any) -> list[str]:
    if readme is None:
        return [f"{README_NAME}: missing; say what the plugin provides, each option with "
                "its environment variable, and its dependencies (`pepperpy plugin new` "
                "writes one)"]
    from pepperpy_dev.scaffold.readme import section_problem

    problem = section_problem(readme.decode("utf-8", errors="replace"), manifest)
    return [f"{README_NAME}: {problem}"] if problem else []


def _load_problems(src: Path) -> list[str]:
    """Import through the verified path; the registry checks the class and its methods."""
    from pepperpy.core import DependencyError
    from pepperpy_testing.conformance.loading import load_plugin

    try:
        load_plugin(src)
    except DependencyError:  # a source folder: `plugin deps NAME` does not apply
        import shlex
        import sys

        needs = _declared(src)
        return [f"entry point: not checked, its dependencies are not installed in this "
                f"Python ({', '.join(needs)}); for a source folder run `pepperpy plugin test "
                f"{shlex.quote(str(src))}` (it installs them with uv) or `uv pip install "
                f"--python {shlex.quote(sys.executable)} {shlex.join(needs)}`, then lint "
                "again"]
    except PepperpyError as exc:
        return [f"entry point: {exc}"]
    return []


def _declared(src: Path) -> list[str]:
    """The dependencies a source folder's ``plugin.json`` lists (it has just loaded)."""
    import json

    found = json.loads((src / "plugin.json").read_bytes()).get("dependencies") or []
    return [d for d in found if isinstance(d, str)]


def _resolve_problems(manifest: Any) -> list[str]:
    from pepperpy.plugins.manager import dependency_spec
    from pepperpy.settings import Settings

    try:
        from pepperpy.plugins.dependencies import uv_command
    except ImportError:  # pragma: no cover - uv ships with PepperPy
        return []
    command = uv_command(dependency_spec(manifest), settings=Settings.from_env())
    command.insert(command.index("install") + 1, "--dry-run")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"dependencies: uv did not run: {exc}"]
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()][-3:]
        return [f"dependencies: uv cannot resolve {json.dumps(list(manifest.dependencies))} "
                f"as wheels for this Python: {' '.join(lines)}"]
    return []
