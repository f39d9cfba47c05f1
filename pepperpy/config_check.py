"""Type checks for the subset of JSON Schema that provider ``config_schema``s use.

Every shipped schema is a flat object: typed properties with length, range, enum and
pattern limits. Checking those here keeps jsonschema (about 40 ms to import) off the
path that creates a provider. ``config_errors`` returns ``None`` for any schema that
uses anything else, and the caller then asks jsonschema: the same refusals either way
(``tests/core/test_config_check.py`` compares both on every shipped schema), with
jsonschema's own messages, keyword names and error order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["config_errors"]

# Keywords jsonschema ignores (annotations, and PepperPy's own "env" and "secret").
_ANNOTATIONS = frozenset({
    "description", "title", "default", "examples", "$comment", "deprecated",
    "readOnly", "writeOnly", "env", "secret",
})
_TOP = frozenset({"$schema", "type", "additionalProperties", "properties", "required"})
_CHECKS = frozenset({
    "type", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "enum", "const", "pattern",
})
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


_NOT_NUMBERS = frozenset({str, bool, type(None), list, dict, tuple, bytes})


def _is_number(value: Any) -> bool:
    # what configs hold, answered without importing numbers (0.2 ms); only exact types
    if type(value) in (int, float):
        return True
    if type(value) in _NOT_NUMBERS:
        return False
    from numbers import Number

    return isinstance(value, Number) and not isinstance(value, bool)


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    # Draft 2020-12: a float with no fractional part is an integer.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def config_errors(
    schema: Mapping[str, Any], config: Mapping[str, Any]
) -> list[tuple[tuple[str, ...], str, str]] | None:
    """``((key,), keyword, message)`` per failed check, sorted by key; ``None``: unsupported."""
    properties = schema.get("properties", {})
    if not _supported(schema, properties):
        return None
    required = schema.get("required", ())
    extra = schema.get("additionalProperties", True) is False and set(config) - set(properties)
    if extra or any(key not in config for key in required):
        return None  # refused earlier with a better message; jsonschema words it here
    errors: list[tuple[tuple[str, ...], str, str]] = []
    for key, spec in properties.items():
        if key in config:
            errors += (((key,), kw, msg) for kw, msg in _check(spec, config[key]))
    errors.sort(key=lambda e: e[0])  # stable: keyword order kept within a key
    return errors


def _supported(schema: Mapping[str, Any], properties: Any) -> bool:
    if not isinstance(schema, Mapping) or not isinstance(properties, Mapping):
        return False
    if set(schema) - _TOP - _ANNOTATIONS or schema.get("type", "object") != "object":
        return False
    if not isinstance(schema.get("additionalProperties", True), bool):
        return False
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
        return False
    return all(_supported_property(spec) for spec in properties.values())


def _supported_property(spec: Any) -> bool:
    if not isinstance(spec, Mapping) or set(spec) - _CHECKS - _ANNOTATIONS:
        return False
    kinds = spec.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not all(k in _TYPES for k in kinds):
        return False
    for word in ("minLength", "maxLength"):
        limit = spec.get(word, 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            return False
    if any(word in spec and not _is_number(spec[word]) for word in _BOUNDS):
        return False
    if "enum" in spec and not isinstance(spec["enum"], list):
        return False
    return "pattern" not in spec or isinstance(spec["pattern"], str)


def _pattern_found(pattern: str, value: str) -> bool:
    from pepperpy import _patterns  # only a schema with a pattern needs it (and maybe re)

    return _patterns.search(pattern, value)


def _check(spec: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """jsonschema's checks and wording, keyword by keyword in the schema's order."""
    out: list[tuple[str, str]] = []
    is_str, is_num = isinstance(value, str), _is_number(value)
    for word, limit in spec.items():
        if word == "type":
            kinds = [limit] if isinstance(limit, str) else limit
            if not any(_TYPES[k](value) for k in kinds):
                out.append((word, f"{value!r} is not of type {', '.join(map(repr, kinds))}"))
        elif word == "minLength" and is_str and len(value) < limit:
            why = "should be non-empty" if limit == 1 else "is too short"
            out.append((word, f"{value!r} {why}"))
        elif word == "maxLength" and is_str and len(value) > limit:
            why = "is expected to be empty" if limit == 0 else "is too long"
            out.append((word, f"{value!r} {why}"))
        elif word == "pattern" and is_str and not _pattern_found(limit, value):
            out.append((word, f"{value!r} does not match {limit!r}"))
        elif word == "minimum" and is_num and value < limit:
            out.append((word, f"{value!r} is less than the minimum of {limit!r}"))
        elif word == "maximum" and is_num and value > limit:
            out.append((word, f"{value!r} is greater than the maximum of {limit!r}"))
        elif word == "exclusiveMinimum" and is_num and value <= limit:
            out.append((word, f"{value!r} is less than or equal to the minimum of {limit!r}"))
        elif word == "exclusiveMaximum" and is_num and value >= limit:
            out.append((word, f"{value!r} is greater than or equal to the maximum of {limit!r}"))
        elif word == "enum" and not any(_equal(each, value) for each in limit):
            out.append((word, f"{value!r} is not one of {limit!r}"))
        elif word == "const" and not _equal(limit, value):
            out.append((word, f"{limit!r} was expected"))
    return out


def _equal(one: Any, two: Any) -> bool:
    """JSON equality: ``True`` is not ``1``, also inside lists and objects."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(map(_equal, one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and _equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)
