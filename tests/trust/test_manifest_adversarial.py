"""Adversarial ``plugin.json`` bytes through the hand check and jsonschema side by side:
wrong types, booleans for numbers and numbers for booleans, extra keys, Unicode look-alikes
and whitespace, huge numbers, deep nesting, duplicate keys. Whatever ``manifest._fits``
accepts, jsonschema must accept under both the shipped schema and the anchored one, and
``parse_manifest`` must then refuse or accept exactly as jsonschema alone would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pepperpy.core import BundleInvalidError
from pepperpy.trust import manifest

BASE = {"name": "sample", "version": "1.0.0", "category": "llm", "provider_name": "sample",
        "entry_point": "sample:SampleProvider"}


def _with(**fields: Any) -> bytes:
    return json.dumps({**BASE, **fields}, ensure_ascii=False).encode("utf-8")


CASES: dict[str, bytes] = {
    "bool-for-string": _with(name=True),
    "int-for-bool": _with(config_schema={"type": "object", "properties": {"k": {"secret": 1}}}),
    "zero-for-false": _with(config_schema={"type": "object", "properties": {"k": {"secret": 0}}}),
    "float-for-bool": _with(config_schema={"type": "object",
                                           "properties": {"k": {"secret": 1.0}}}),
    "string-for-bool": _with(config_schema={"type": "object",
                                            "properties": {"k": {"secret": "true"}}}),
    "true-for-type-object": _with(config_schema={"type": True}),
    "list-for-object": _with(config_schema=[]),
    "null-config": _with(config_schema=None),
    "extra-top-level": _with(extra=1),
    "extra-lock-key": _with(dependency_lock=[{"name": "a", "version": "1",
                                              "hashes": ["sha256:" + "a" * 64], "url": "x"}]),
    "fullwidth-name": _with(name="\uff53ample"),
    "dotless-i-name": _with(name="sample\u0131"),
    "kelvin-provider": _with(provider_name="\u212aelvin"),
    "arabic-digits-version": _with(version="\u0661.0"),
    "superscript-version": _with(version="1.\u00b2"),
    "zero-width-entry-point": _with(entry_point="sample:Sample\u200bProvider"),
    "nel-in-homepage": _with(homepage="https://x.test/\u0085y"),
    "em-space-in-homepage": _with(homepage="https://x.test/\u2003y"),
    "newline-after-name": _with(name="sample\n"),
    "lower-env": _with(config_schema={"type": "object", "properties": {"k": {"env": "k"}}}),
    "astral-description": _with(description="\U0001f600" * 2000),
    "astral-description-over": _with(description="\U0001f600" * 2001),
    "duplicate-deps-unicode": _with(dependencies=["a", "a"]),
    "deps-with-number": _with(dependencies=["a", 1]),
    "huge-int": _with(version=10**40),
    "huge-float": _with(description=1e308),
    "negative-zero": _with(description=-0.0),
    "huge-int-in-config": b'{"name":"sample","version":"1.0.0","category":"llm",'
                          b'"provider_name":"sample","entry_point":"sample:SampleProvider",'
                          b'"config_schema":{"x":' + b"9" * 5000 + b"}}",
    "overflowing-float": _with()[:-1] + b',"description":1e999}',
    "nan": _with()[:-1] + b',"description":NaN}',
    "deep-config": _with()[:-1] + b',"config_schema":' + b'{"a":' * 200 + b"1" + b"}" * 201,
    "deep-but-allowed": _with()[:-1] + b',"config_schema":' + b'{"a":' * 10 + b"1" + b"}" * 11,
    "duplicate-key": _with()[:-1] + b',"name":"other"}',
    "duplicate-key-nested": _with()[:-1] + b',"config_schema":{"type":"object","type":"x"}}',
    "lone-surrogate": _with()[:-1] + b',"description":"\\ud800"}',
    "bom": b"\xef\xbb\xbf" + _with(),
    "top-level-list": b"[]",
    "missing-required": json.dumps({k: v for k, v in BASE.items() if k != "name"}).encode(),
    "const-type-string": _with(config_schema={"type": "string"}),
    "properties-not-object": _with(config_schema={"type": "object", "properties": [1]}),
    "nested-properties-extra": _with(config_schema={"type": "object", "properties": {
        "k": {"type": "string", "secret": False, "x": {"deep": [1, 2, {"y": None}]}}}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_hand_check_and_jsonschema_agree_on_adversarial_manifests(case: str):
    raw = CASES[case]
    try:
        value = manifest.parse_json_strict(raw)
    except BundleInvalidError:
        with pytest.raises(BundleInvalidError):
            manifest.parse_manifest(raw)
        return
    anchored = Draft202012Validator(manifest._schema()).is_valid(value)
    shipped = Draft202012Validator(manifest.load_schema()).is_valid(value)
    if manifest._fits(manifest._schema(), value):
        assert anchored and shipped, case
    if not anchored:
        with pytest.raises(BundleInvalidError, match=r"plugin\.json field"):
            manifest.parse_manifest(raw)


def test_the_cases_include_both_verdicts():
    verdicts = set()
    for raw in CASES.values():
        try:
            verdicts.add(manifest._fits(manifest._schema(), manifest.parse_json_strict(raw)))
        except BundleInvalidError:
            verdicts.add(None)
    assert verdicts == {True, False, None}
