"""The typed manifest: the schema and the model agree, and building without re-validating
gives the same model pydantic's validation would."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from pepperpy.bundle.manifest import load_schema, parse_manifest
from pepperpy.bundle.model import LockedRequirement, PluginManifest

BASE = {"name": "sample", "version": "1.0.0", "category": "llm", "provider_name": "sample",
        "entry_point": "sample:SampleProvider"}
HASH = "sha256:" + "ab" * 32

MANIFESTS = {
    "minimal": BASE,
    "every-field": {
        **BASE, "description": "d", "author": "a", "pepperpy_compatibility": ">=0.1",
        "dependencies": ["httpx>=0.27", 'numpy>=1; python_version >= "3.11"'],
        "python_requires": ">=3.11", "license": "MIT", "homepage": "https://example.org",
        "config_schema": {"type": "object", "properties": {
            "api_key": {"type": "string", "env": "SAMPLE_KEY", "secret": True}}},
        "source_builds": ["llama-cpp-python"],
        "dependency_lock": [{"name": "httpx", "version": "0.27.0", "hashes": [HASH]}],
    },
    "empty-lists": {**BASE, "dependencies": [], "source_builds": [], "dependency_lock": []},
}


def test_the_shipped_schema_is_a_valid_2020_12_schema():
    # parse_manifest no longer re-checks the schema in every process; this test does.
    Draft202012Validator.check_schema(load_schema())


def test_schema_fields_are_exactly_the_model_fields():
    schema = load_schema()
    assert set(schema["properties"]) == set(PluginManifest.model_fields)
    assert set(schema["required"]) == {
        n for n, f in PluginManifest.model_fields.items() if f.is_required()}
    lock_item = schema["properties"]["dependency_lock"]["items"]
    assert set(lock_item["properties"]) == set(LockedRequirement.model_fields)
    assert schema["additionalProperties"] is False and lock_item["additionalProperties"] is False


@pytest.mark.parametrize("fields", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_parsed_manifest_equals_what_pydantic_validation_builds(fields):
    parsed = parse_manifest(json.dumps(fields).encode())
    validated = PluginManifest.model_validate(fields)
    assert parsed == validated
    assert parsed.model_fields_set == validated.model_fields_set
    assert parsed.model_dump() == validated.model_dump()
    assert type(parsed.dependencies) is tuple and type(parsed.source_builds) is tuple
    if parsed.dependency_lock:
        assert all(isinstance(p, LockedRequirement) for p in parsed.dependency_lock)
        assert type(parsed.dependency_lock[0].hashes) is tuple


def test_parsed_manifest_is_frozen():
    parsed = parse_manifest(json.dumps(BASE).encode())
    with pytest.raises(ValueError):
        parsed.name = "other"  # type: ignore[misc]
