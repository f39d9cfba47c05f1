"""The small config checker refuses exactly what jsonschema refuses, in its words.

Each shipped plugin's ``config_schema`` is checked with values of every JSON type at
and around its limits; the result (key, keyword, message, order) must equal
jsonschema's Draft 2020-12 result. Schemas beyond the subset go to jsonschema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from pepperpy.config import _jsonschema_errors, prepare_config
from pepperpy.config_check import config_errors
from pepperpy.core import ValidationError

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {
    p.parent.name: json.loads(p.read_text())["config_schema"]
    for p in sorted((ROOT / "plugin_src").glob("*/plugin.json"))
}
# Shipped schemas config_check leaves to jsonschema whole (None, never another refusal).
BEYOND_SUBSET: set[str] = set()
VALUES: list[Any] = [
    "", "x", "gpt-4o-mini", "a" * 300, "http://x", "bad name!", "cosine", "l2", "ip",
    0, 1, -1, 2, 3, 65536, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -0.1, 1e12,
    True, False, None, [], [1], {}, {"a": 1},
]


def _expected(schema: dict[str, Any], config: dict[str, Any]) -> list[Any]:
    return _jsonschema_errors(schema, config)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_shipped_schema_is_in_the_subset_or_left_to_jsonschema(name: str) -> None:
    schema = SCHEMAS[name]
    found = config_errors(schema, {k: "x" for k in schema.get("required", [])})
    assert found is None if name in BEYOND_SUBSET else found == []


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_same_refusals_as_jsonschema_for_each_key(name: str) -> None:
    schema = SCHEMAS[name]
    required = {k: "x" for k in schema.get("required", [])}
    enums = [v for spec in schema["properties"].values() for v in spec.get("enum", [])]
    refused = 0
    for key in schema["properties"]:
        for value in VALUES + enums:
            config = {**required, key: value}
            got = config_errors(schema, config)
            if name in BEYOND_SUBSET:
                assert got is None
                continue
            assert got == _expected(schema, config), (key, value)
            refused += bool(got)
    assert refused or name in BEYOND_SUBSET  # the values do reach the limits


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_same_refusals_with_several_bad_keys_at_once(name: str) -> None:
    schema = SCHEMAS[name]
    keys = list(schema["properties"])[:4]
    for values in product([None, "", 1.5, True, -1], repeat=len(keys)):
        config = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
        config.update({k: "x" for k in schema.get("required", []) if k not in config})
        got = config_errors(schema, config)
        assert got is None if name in BEYOND_SUBSET else got == _expected(schema, config), config


SYNTHETIC = {
    "type": "object",
    "properties": {
        "a": {"type": ["integer", "null"], "exclusiveMaximum": 3, "minimum": 0},
        "b": {"const": [1, True], "description": "d"},
        "c": {"type": "string", "maxLength": 0},
        "d": {"enum": [1, "1", False, {"k": [0]}]},
        "e": {"type": "array"},
        "f": {"type": "string", "minLength": 3, "maxLength": 4, "pattern": "^[a-z]+$"},
    },
}


def test_the_rest_of_the_subset_matches_too() -> None:
    for key in SYNTHETIC["properties"]:
        for value in [*VALUES, [1, True], [1, 1], {"k": [0]}, {"k": [False]}, "1", "abcde"]:
            config = {key: value}
            assert config_errors(SYNTHETIC, config) == _expected(SYNTHETIC, config), config


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}},
    {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}},
    {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}},
    {"type": "object", "properties": {"a": True}},
    {"type": "object", "properties": {"a": {"type": "str"}}},
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"type": "object", "$defs": {}, "properties": {}},
])
def test_anything_else_goes_to_jsonschema(schema: dict[str, Any]) -> None:
    assert config_errors(schema, {"a": "x"}) is None


def test_fallback_still_refuses() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}}
    with pytest.raises(ValidationError, match=r"option a\.0: 1 is not of type 'string'"):
        prepare_config(schema, {"a": [1]}, label="p")


def test_a_secret_value_is_never_shown() -> None:
    with pytest.raises(ValidationError) as info:
        prepare_config(SCHEMAS["llm_openai_provider"], {"api_key": 12345678}, label="openai")
    assert "12345678" not in str(info.value)
    assert "option api_key: failed the 'type' check" in str(info.value)


def test_creating_a_provider_config_imports_no_jsonschema() -> None:
    code = (
        "import json, sys\n"
        "from pepperpy.config import prepare_config\n"
        f"schema = json.loads({json.dumps(json.dumps(SCHEMAS['llm_openai_provider']))})\n"
        "prepare_config(schema, {'api_key': 'k'}, label='openai')\n"
        "try:\n"
        "    prepare_config(schema, {'api_key': 'k', 'temperature': 3}, label='openai')\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
        "print('jsonschema' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["openai: invalid configuration: option temperature: 3 is greater than the "
                   "maximum of 2", "False"]


@pytest.mark.parametrize("value", [0, 1.5, True, False, float("nan"), 10**40,
                                   __import__("fractions").Fraction(1, 3),
                                   __import__("decimal").Decimal("2.5"), 1j, "1", None,
                                   [1], {"a": 1}, (1,), b"1"])
def test_number_check_is_the_numbers_number_check(value):
    from numbers import Number

    from pepperpy.config_check import _is_number

    assert _is_number(value) == (isinstance(value, Number) and not isinstance(value, bool))


PATTERNED = [(name, key) for name, schema in SCHEMAS.items()
             for key, spec in schema.get("properties", {}).items() if "pattern" in spec]


@pytest.mark.parametrize(("name", "key"), PATTERNED)
def test_a_value_failing_a_pattern_is_refused_in_the_options_own_words(name: str,
                                                                       key: str) -> None:
    """The user reads the option's description, with its name and the value, not a regex."""
    schema = SCHEMAS[name]
    spec = schema["properties"][key]
    others = {k: "x" for k in schema.get("required", []) if k != key}
    value = next(v for v in [*VALUES, "kb", "-x-"] if isinstance(v, str) and [
        kw for _, kw, _ in config_errors(schema, {**others, key: v}) or ()] == ["pattern"])
    with pytest.raises(ValidationError) as info:
        prepare_config(schema, {**others, key: value}, label="p")
    assert str(info.value) == (f"p: invalid configuration: option {key}: {value!r} is not a "
                               f"value this option takes: {spec['description'].rstrip('.')}")
    assert spec["pattern"] not in str(info.value)


@pytest.mark.parametrize(("name", "key"), PATTERNED)
def test_every_patterned_option_says_what_form_it_takes(name: str, key: str) -> None:
    """The description a refused value is explained with names the allowed form (which
    characters, or an example of the form)."""
    description = SCHEMAS[name]["properties"][key]["description"]
    assert "characters" in description or "e.g. " in description


def test_chroma_says_what_a_collection_name_is() -> None:
    with pytest.raises(ValidationError) as info:
        prepare_config(SCHEMAS["rag_chroma_provider"], {"collection": "kb"}, label="chroma")
    assert str(info.value) == (
        "chroma: invalid configuration: option collection: 'kb' is not a value this option "
        "takes: Collection name (3-512 characters: letters, digits, '.', '_', '-')")


@pytest.mark.parametrize("extra", [{}, {"$defs": {}}])  # the small checker, then jsonschema
def test_a_pattern_with_no_description_is_said_in_a_plain_sentence(extra: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
              **extra}
    with pytest.raises(ValidationError) as info:
        prepare_config(schema, {"name": "Bad Name"}, label="p")
    assert str(info.value) == (
        "p: invalid configuration: option name: 'Bad Name' is not a value this option takes "
        "(it has a character, or a form, the option does not allow)")
    described = {**schema, "properties": {"name": {**schema["properties"]["name"],
                                                   "description": "Lower-case letters."}}}
    with pytest.raises(ValidationError, match=r"option name: 'Bad Name' is not a value this "
                                              r"option takes: Lower-case letters$"):
        prepare_config(described, {"name": "Bad Name"}, label="p")


def test_a_secret_failing_a_pattern_is_still_never_shown() -> None:
    schema = {"type": "object", "properties": {"api_key": {
        "type": "string", "pattern": "^sk-", "secret": True, "description": "Starts with sk-."}}}
    with pytest.raises(ValidationError) as info:
        prepare_config(schema, {"api_key": "hunter2-secret"}, label="p")
    assert "hunter2" not in str(info.value)
    assert "option api_key: failed the 'pattern' check" in str(info.value)


NUMBER_OPTIONS = [(name, key) for name, schema in sorted(SCHEMAS.items())
                  for key, spec in schema["properties"].items()
                  if spec.get("type") == "number"]


@pytest.mark.parametrize(("name", "key"), NUMBER_OPTIONS)
def test_nan_is_refused_whatever_the_bounds(name: str, key: str) -> None:
    """NaN passes every minimum and maximum (jsonschema's too): a timeout of NaN failed
    at the first request, as a bare ValueError (openai) or "could not reach" (anthropic)."""
    schema = SCHEMAS[name]
    config = {**{k: "x" for k in schema.get("required", [])}, key: float("nan")}
    with pytest.raises(ValidationError, match=rf"option {key}: NaN is not a number"):
        prepare_config(schema, config, label=name)
