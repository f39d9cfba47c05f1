"""The typed manifest: the schema and the dataclasses agree, and a parsed manifest round
trips through ``manifest_json`` (what the verified cache and ``inspect`` use)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from jsonschema import Draft202012Validator

from pepperpy.bundle.inspect import manifest_json
from pepperpy.trust.manifest import load_schema, parse_manifest
from pepperpy.trust.types import LockedRequirement, PluginManifest

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


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _required(cls: type) -> set[str]:
    return {n for n, f in _fields(cls).items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def test_schema_fields_are_exactly_the_model_fields():
    schema = load_schema()
    assert set(schema["properties"]) == set(_fields(PluginManifest))
    assert set(schema["required"]) == _required(PluginManifest)
    lock_item = schema["properties"]["dependency_lock"]["items"]
    assert set(lock_item["properties"]) == set(_fields(LockedRequirement))
    assert schema["additionalProperties"] is False and lock_item["additionalProperties"] is False


def test_the_schema_in_the_package_is_the_schema_in_schemas(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert (root / "schemas" / "plugin.schema.json").read_bytes() == (
        root / "pepperpy" / "schemas" / "plugin.schema.json").read_bytes()


@pytest.mark.parametrize("fields", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_parsed_manifest_round_trips_through_manifest_json(fields):
    parsed = parse_manifest(json.dumps(fields).encode())
    again = parse_manifest(json.dumps(manifest_json(parsed)).encode())
    assert again == parsed
    assert type(parsed.dependencies) is tuple and type(parsed.source_builds) is tuple
    if parsed.dependency_lock:
        assert all(isinstance(p, LockedRequirement) for p in parsed.dependency_lock)
        assert type(parsed.dependency_lock[0].hashes) is tuple
    # Fields left at their default are omitted; an empty lock is not the default (None).
    expected = {k: v for k, v in fields.items()
                if v != "" and (v != [] or k == "dependency_lock")}
    assert manifest_json(parsed) == expected


def test_parsed_manifest_is_frozen():
    parsed = parse_manifest(json.dumps(BASE).encode())
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.name = "other"  # type: ignore[misc]
