"""Strict reading of ``plugin.json``: raw bytes in, a typed ``PluginManifest`` out.

Invariants:

* the signature covers the raw bytes; this module only parses bytes that verified (or,
  for discovery listings, bytes that are never trusted for anything else);
* UTF-8 without BOM, one JSON object; duplicate keys, NaN/Infinity, floats that
  overflow, integers longer than ``max_json_int_digits`` digits, strings longer than
  ``max_json_string`` characters, lone surrogates and nesting deeper than
  ``max_json_depth`` are refused (Python keeps the last duplicate, other parsers the
  first: ambiguity is refused rather than resolved);
* the object validates against ``schemas/plugin.schema.json`` (2020-12);
* every dependency is a name, optional extras, version specifiers (never ``===``) and
  an optional marker: no URL, ``file:``, VCS, path, pip/uv option or odd whitespace;
* ``version`` is a normalised PEP 440 version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pepperpy.core import BundleInvalidError
from pepperpy.trust.types import DEFAULT_LIMITS, Limits, PluginManifest, from_validated

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["check_dependency", "check_entry_point", "load_schema",
           "parse_json_strict", "parse_manifest"]

_SPECIAL = rb'["\\\[\]{}]'  # patterns compiled on first use (re caches them), not at import
_DEP_CHARS = r"[A-Za-z0-9._\-\[\],<>=!~*;'\"() ]+"


class _Refused(ValueError):
    pass


def _depth_ok(raw: bytes, limit: int) -> bool:
    """Nesting depth at most ``limit``, in one linear pass over the special bytes, before
    ``json.loads`` (whose scanner recurses) sees them."""
    depth, in_string, skip_to = 0, False, -1
    for match in re.finditer(_SPECIAL, raw):
        at, char = match.start(), raw[match.start()]
        if at < skip_to:
            continue
        if in_string:  # a backslash escapes the next byte; a quote ends the string
            skip_to, in_string = (at + 2 if char == 0x5C else skip_to), char != 0x22
        elif char == 0x22:
            in_string = True
        else:
            depth += 1 if char in b"[{" else -1
            if depth > limit:
                return False
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r}")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON")


def _check_values(value: Any, limits: Limits) -> None:
    """String length and lone surrogates, in one walk."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limits.max_json_string:
                raise _Refused(f"a string longer than {limits.max_json_string} characters")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("a string with a lone surrogate escape") from None
        elif isinstance(item, dict | list):
            stack.extend([*item.keys(), *item.values()] if isinstance(item, dict) else item)


def parse_json_strict(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse ``plugin.json`` bytes with every JSON ambiguity refused."""
    if len(raw) > limits.max_manifest_size:
        raise BundleInvalidError(
            f"plugin.json is {len(raw)} bytes, above the {limits.max_manifest_size}-byte limit")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise BundleInvalidError("plugin.json starts with a UTF-8 BOM; save it without one")
    if not _depth_ok(raw, limits.max_json_depth):
        raise BundleInvalidError(f"plugin.json nests deeper than {limits.max_json_depth} levels")

    def parse_int(text: str) -> int:
        if len(text.lstrip("-")) > limits.max_json_int_digits:
            raise _Refused(f"an integer longer than {limits.max_json_int_digits} digits")
        return int(text)

    def parse_float(text: str) -> float:
        if float(text) in (float("inf"), float("-inf")):
            raise _Refused(f"number {text[:20]} overflows a float")
        return float(text)

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_constant, parse_int=parse_int,
                           parse_float=parse_float)
        _check_values(value, limits)
    except UnicodeDecodeError:
        raise BundleInvalidError("plugin.json is not valid UTF-8") from None
    except _Refused as exc:
        raise BundleInvalidError(f"plugin.json refused: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BundleInvalidError(f"plugin.json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BundleInvalidError("plugin.json must hold a JSON object")
    return value


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The plugin.json JSON Schema, loaded from the installed package."""
    import os

    # A plain file read: ``importlib.resources`` imports tempfile, shutil, bz2 and
    # lzma, which a process loading one plugin would otherwise pay for.
    folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        with open(os.path.join(folder, "schemas", "plugin.schema.json"), "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:  # a zipped or otherwise unusual install
        from importlib.resources import files

        return json.loads((files("pepperpy") / "schemas" / "plugin.schema.json").read_bytes())


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    # No ``check_schema`` here: the schema ships with PepperPy and cannot change at
    # run time; checking it against the 2020-12 meta-schema cost more than the rest of
    # a plugin load, so tests/bundle/test_model.py does it once instead.
    return Draft202012Validator(_schema())


def _anchored(schema: Any) -> Any:
    """The schema with each pattern's final ``$`` made ``\\Z``: patterns are searched, and
    Python's ``$`` also matches before a final newline (``"echo\\n"`` would pass
    ``^[a-z]+$``)."""
    if isinstance(schema, list):
        return [_anchored(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: v[:-1] + r"\Z" if k == "pattern" and isinstance(v, str) and v.endswith("$")
            else _anchored(v) for k, v in schema.items()}


_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}
#: What each keyword plugin.schema.json uses asks of a value (schema, rule, value).
_KEYWORDS: dict[str, Any] = {
    "type": lambda s, r, v: type(v) is _TYPES.get(r),
    "pattern": lambda s, r, v: isinstance(v, str) and re.search(r, v) is not None,
    "maxLength": lambda s, r, v: isinstance(v, str) and len(v) <= r,
    "minLength": lambda s, r, v: isinstance(v, str) and len(v) >= r,
    "maxItems": lambda s, r, v: isinstance(v, list) and len(v) <= r,
    "minItems": lambda s, r, v: isinstance(v, list) and len(v) >= r,
    "uniqueItems": lambda s, r, v: isinstance(v, list) and len({*map(str, v)}) == len(v)
    and all(isinstance(item, str) for item in v),
    "items": lambda s, r, v: isinstance(v, list) and all(_fits(r, item) for item in v),
    "required": lambda s, r, v: isinstance(v, dict) and all(k in v for k in r),
    "properties": lambda s, r, v: isinstance(v, dict) and all(
        _fits(r[k], item) for k, item in v.items() if k in r),
    "additionalProperties": lambda s, r, v: isinstance(v, dict) and all(
        r is True or (r is not False and _fits(r, item))
        for k, item in v.items() if k not in s.get("properties", {})),
    "const": lambda s, r, v: type(v) is type(r) and v == r,
    **dict.fromkeys(("$schema", "$id", "title", "description"), lambda s, r, v: True),
}


def _fits(schema: dict[str, Any], value: Any) -> bool:
    """True only when ``value`` certainly validates against ``schema``, read keyword by
    keyword (``_KEYWORDS``: the ones plugin.schema.json uses); False means unsure (any
    other keyword, too), and jsonschema (40 ms to import) judges and words the refusal.
    ``tests/trust/test_manifest_check.py`` compares both over thousands of manifests."""
    return all(key in _KEYWORDS and _KEYWORDS[key](schema, rule, value)
               for key, rule in schema.items())


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return _anchored(load_schema())  # type: ignore[no-any-return]


def _schema_errors(value: dict[str, Any]) -> str | None:
    if _fits(_schema(), value):
        return None
    first = min(_validator().iter_errors(value), key=lambda e: list(e.absolute_path), default=None)
    if first is None:
        return None
    where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    message = first.message if len(first.message) < 200 else first.message[:200] + "..."
    return f"plugin.json field {where}: {message}"


def check_dependency(text: str, *, limits: Limits = DEFAULT_LIMITS) -> Requirement:
    """Parse one dependency; allow only name, extras, specifiers (not ===) and a marker."""
    from packaging.requirements import InvalidRequirement, Requirement

    def refuse(why: str) -> BundleInvalidError:
        return BundleInvalidError(f"dependency {text[:80]!r} refused: {why}; write it as "
                                  "'name[extra]>=1.0; python_version >= \"3.11\"'")

    if not isinstance(text, str) or not text:
        raise refuse("not a non-empty string")
    if len(text) > limits.max_dependency_length:
        raise refuse(f"longer than {limits.max_dependency_length} characters")
    if text.startswith("-"):
        raise refuse("pip/uv options are not allowed")
    if text != text.strip() or "  " in text or not re.fullmatch(_DEP_CHARS, text):
        raise refuse("only letters, digits, ._-[],<>=!~*;'\"() and single spaces are allowed "
                     "(no URLs, paths, '@', ':', '#', tabs or newlines)")
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise refuse(f"not a PEP 508 requirement ({str(exc).splitlines()[0]})") from None
    if req.url:
        raise refuse("direct URL references are not allowed")
    if any(spec.operator == "===" for spec in req.specifier):
        raise refuse("arbitrary equality '===' is not allowed")
    return req


def _check_fields(value: dict[str, Any], limits: Limits) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        if str(Version(value["version"])) != value["version"]:
            raise BundleInvalidError(f"version {value['version']!r} is not normalised; write "
                                     f"{str(Version(value['version']))!r}")
    except InvalidVersion:
        raise BundleInvalidError(f"version {value['version']!r} is not PEP 440") from None
    for key in ("pepperpy_compatibility", "python_requires"):
        if key in value:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            try:
                SpecifierSet(value[key])
            except InvalidSpecifier:
                raise BundleInvalidError(
                    f"{key} {value[key]!r} is not a PEP 440 specifier set (e.g. '>=0.1,<0.2')"
                ) from None
    for dep in value.get("dependencies", []):
        check_dependency(dep, limits=limits)
    for pin in value.get("dependency_lock", []):
        try:
            Version(pin["version"])
        except InvalidVersion:
            raise BundleInvalidError(f"dependency_lock {pin['name']}: bad version") from None


def parse_manifest(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> PluginManifest:
    """Strict JSON, schema, dependency and version checks, then the typed model."""
    value = parse_json_strict(raw, limits=limits)
    if problem := _schema_errors(value):
        raise BundleInvalidError(problem, plugin=_name_of(value))
    _check_fields(value, limits)
    return from_validated(value)


def _name_of(value: dict[str, Any]) -> str | None:
    name = value.get("name")
    return name if isinstance(name, str) and len(name) < 80 else None


def check_entry_point(manifest: PluginManifest, names: Collection[str]) -> None:
    """The ``entry_point`` module (and each package above it) is a file in the bundle."""
    parts = manifest.module.split(".")
    if any(not p for p in parts):
        raise BundleInvalidError(f"entry_point module {manifest.module!r} is malformed")
    for i in range(1, len(parts)):
        package = "/".join(parts[:i]) + "/__init__.py"
        if package not in names:
            raise BundleInvalidError(f"entry_point {manifest.entry_point!r} needs {package} "
                                     "in the bundle", plugin=manifest.name)
    base = "/".join(parts)
    if f"{base}.py" not in names and f"{base}/__init__.py" not in names:
        raise BundleInvalidError(f"entry_point {manifest.entry_point!r}: neither {base}.py "
                                 f"nor {base}/__init__.py is in the bundle", plugin=manifest.name)
