"""The manifest's keyword-by-keyword schema check (``manifest._fits``) never accepts what
jsonschema refuses: it decides alone only when it is sure, and jsonschema judges the rest.

Compared over every shipped plugin's ``plugin.json`` and thousands of variants: each
field replaced by values of every JSON type, strings at and past their limits, with a
final newline, lists with duplicates and non-strings, extra and missing keys, nested
``config_schema`` and ``dependency_lock`` shapes.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from pepperpy.trust import manifest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(ROOT.glob("plugin_src/*/plugin.json"))
HEX = "sha256:" + "ab" * 32
FULL = {
    "name": "full_plugin", "version": "1!2.0rc1.post3.dev4", "category": "llm",
    "provider_name": "full-one", "entry_point": "pkg.mod:Provider", "description": "d",
    "author": "a", "pepperpy_compatibility": ">=0.1,<1", "dependencies": ["a>=1", "b[x]<2"],
    "python_requires": ">=3.11", "license": "MIT", "homepage": "https://example.test/x",
    "config_schema": {"type": "object", "properties": {
        "key": {"type": "string", "env": "API_KEY", "secret": True}}},
    "source_builds": ["llama-cpp-python"],
    "dependency_lock": [{"name": "a", "version": "1.0", "hashes": [HEX]}],
}
VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.5, 10**30, "", "x", "a" * 64, "a" * 65,
                     "a" * 200, "a" * 201, "abc\n", "Abc", "1.0", "0!1.0", "1.0\n", [], ["x"],
                     ["x", "x"], [1], [None], ["a", 1], {}, {"type": "object"},
                     {"type": "string"}, {"properties": {"k": {"env": "lower"}}},
                     {"properties": {"k": {"secret": "yes"}}}, {"properties": {"k": 1}},
                     {"properties": []}, [{"name": "a", "version": "1", "hashes": []}],
                     [{"name": "a", "version": "1", "hashes": [HEX, HEX]}],
                     [{"name": "a", "version": "1", "hashes": [HEX], "x": 1}],
                     [{"name": "a", "hashes": [HEX]}], ["a" * 129], ["ok-name", "-bad"],
                     "https://x.test/a b", "ftp://x.test", "a:B", "a.b:C\n", ">=1\n", ">=1;"]


def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest._schema())


def _variants() -> list[dict[str, Any]]:
    bases = [json.loads(p.read_bytes()) for p in SHIPPED] + [FULL]
    keys = [*sorted(manifest._schema()["properties"]), "extra", "$schema"]
    out: list[dict[str, Any]] = [copy.deepcopy(b) for b in bases]
    for base, key, value in itertools.product(bases[-3:], keys, VALUES):
        variant = copy.deepcopy(base)
        variant[key] = copy.deepcopy(value)
        out.append(variant)
    for base in bases:
        for key in list(base):
            out.append({k: v for k, v in base.items() if k != key})
    rng = random.Random(25)
    for _ in range(3000):  # several fields at once, and nested values
        variant = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            target = variant
            if rng.random() < 0.3 and isinstance(variant.get("config_schema"), dict):
                target = variant["config_schema"].setdefault("properties", {})
                if not isinstance(target, dict):
                    continue
            target[rng.choice(keys)] = copy.deepcopy(rng.choice(VALUES))
        out.append(variant)
    return out


def test_every_shipped_manifest_is_accepted_without_jsonschema():
    assert len(SHIPPED) >= 10
    for path in SHIPPED:
        assert manifest._fits(manifest._schema(), json.loads(path.read_bytes())), path
    assert manifest._fits(manifest._schema(), FULL)


def test_the_hand_check_accepts_nothing_jsonschema_refuses():
    validator = _validator()
    variants = _variants()
    accepted = refused = 0
    for variant in variants:
        if manifest._fits(manifest._schema(), variant):
            accepted += 1
            assert validator.is_valid(variant), variant
        else:
            refused += validator.is_valid(variant) is False
    assert len(variants) > 5000
    assert accepted > 500 and refused > 1000, (accepted, refused)
