"""Check a user's provider configuration against the plugin's ``config_schema``.

Order: refuse unknown keys, fill missing keys from the environment variable the
schema names (``"env"``) and then from ``"default"``, then validate types
(``pepperpy.config_check`` for the flat schemas providers use, jsonschema for anything
else). Error messages name the key and the fix, and never show the value of a
key marked ``"secret": true`` (or any key named like a credential).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pepperpy.config_check import config_errors
from pepperpy.core import ValidationError, looks_secret

__all__ = ["coerce_strings", "is_secret", "prepare_config", "secret_keys"]


def prepare_config(
    schema: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    *,
    label: str,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the validated, filled configuration for the provider named ``label``."""
    if not schema:
        return dict(config)
    env = os.environ if env is None else env
    properties: Mapping[str, Any] = schema.get("properties", {})
    unknown = sorted(set(config) - set(properties))
    if unknown and schema.get("additionalProperties", True) is False:
        allowed = ", ".join(sorted(properties)) or "(none)"
        raise ValidationError(
            f"{label}: unknown option(s) {', '.join(unknown)}{_closest(unknown, properties)}; "
            f"allowed options: {allowed}"
        )
    filled = {k: v for k, v in config.items() if v is not None}
    for key, spec in properties.items():
        if key in filled:
            continue
        env_name = spec.get("env")
        if env_name and env.get(env_name):
            filled[key] = _coerce(env[env_name], spec)
        elif "default" in spec:
            filled[key] = spec["default"]
    missing = [k for k in schema.get("required", ()) if k not in filled]
    if missing:
        error = ValidationError(_missing_message(label, missing, properties))
        error.options = tuple(missing)
        raise error
    _validate_types(schema, filled, label)
    _refuse_nan(filled, label)
    return filled


def _refuse_nan(filled: Mapping[str, Any], label: str) -> None:
    """NaN passes every minimum and maximum (each comparison is false), in jsonschema
    too: a timeout of NaN would fail at the first call, far from the setting, as a bare
    ``ValueError`` or a "could not reach" error."""
    for key, value in filled.items():
        if isinstance(value, float) and value != value:
            raise ValidationError(f"{label}: invalid configuration: option {key}: NaN is "
                                  "not a number this option takes; pass a number")


def _closest(unknown: list[str], known: Mapping[str, Any]) -> str:
    """`` (did you mean 'collection'?)`` for the mistyped ones among ``unknown``."""
    from pepperpy.suggest import closest  # only when an option is refused

    pairs = [(name, closest(name, known)) for name in unknown]
    close = [f"{name!r}: did you mean {found!r}?" for name, found in pairs if found]
    return f" ({'; '.join(close)})" if close else ""


def _missing_message(label: str, missing: list[str], properties: Mapping[str, Any]) -> str:
    fixes = []
    for key in missing:
        env_name = properties.get(key, {}).get("env")
        fix = f"pass {key}=..."
        if env_name:
            fix += f" or set the environment variable {env_name}"
        fixes.append(fix)
    return f"{label}: missing required option(s) {', '.join(missing)}; " + "; ".join(fixes)


def coerce_strings(
    schema: Mapping[str, Any] | None, values: Mapping[str, str]
) -> dict[str, Any]:
    """Convert text values (command-line options) to the types the schema declares."""
    properties = (schema or {}).get("properties", {})
    return {k: _coerce(v, properties.get(k, {})) for k, v in values.items()}


def _coerce(raw: str, spec: Mapping[str, Any]) -> Any:
    """Environment values are strings; convert those the schema types otherwise."""
    kind = spec.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
    except ValueError:
        return raw  # the type check below reports it with the key's name
    return raw


def is_secret(key: str, spec: Mapping[str, Any] | None = None) -> bool:
    """Whether a config value must never be shown."""
    if spec and spec.get("secret"):
        return True
    return looks_secret(key)


def secret_keys(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """Keys a config schema marks ``"secret": true``."""
    properties = (schema or {}).get("properties", {})
    return frozenset(k for k, v in properties.items() if isinstance(v, dict) and v.get("secret"))


def _validate_types(schema: Mapping[str, Any], filled: Mapping[str, Any], label: str) -> None:
    errors = config_errors(schema, filled)
    if errors is None:
        errors = _jsonschema_errors(schema, filled)
    if not errors:
        return
    problems = []
    properties = schema.get("properties", {})
    for path, keyword, message in errors[:5]:
        spec = properties.get(path[0]) if path else None
        if path and is_secret(path[0], spec):
            message = f"failed the '{keyword}' check"
        elif keyword == "pattern" and len(path) == 1 and isinstance(spec, Mapping):
            message = _pattern_in_words(spec, filled[path[0]])
        problems.append(f"option {'.'.join(path) or '(config)'}: {message}")
    raise ValidationError(f"{label}: invalid configuration: " + "; ".join(problems))


def _pattern_in_words(spec: Mapping[str, Any], value: Any) -> str:
    """A failed ``pattern`` said as the option's ``description`` says it, not as a regex
    (a user reads "3-512 characters: letters, digits", not ``^[A-Za-z0-9]...$``)."""
    described = spec.get("description")
    if isinstance(described, str) and described.strip():
        return f"{value!r} is not a value this option takes: {described.strip().rstrip('.')}"
    return (f"{value!r} is not a value this option takes (it has a character, or a form, "
            "the option does not allow)")


def _jsonschema_errors(
    schema: Mapping[str, Any], filled: Mapping[str, Any]
) -> list[tuple[tuple[str, ...], str, str]]:
    """``(path, keyword, message)`` from jsonschema, for schemas beyond the flat subset."""
    import jsonschema  # heavy: only for a schema config_check does not cover

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(filled)), key=lambda e: list(e.path))
    return [(tuple(str(p) for p in e.path), str(e.validator), e.message) for e in errors]
