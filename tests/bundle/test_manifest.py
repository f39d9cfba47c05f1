"""plugin.json: every JSON trap and every refused dependency form; good forms accepted."""

from __future__ import annotations

import json

import pytest

from pepperpy.core import BundleInvalidError, PluginLoadError
from pepperpy.trust.admissible import compatible
from pepperpy.trust.manifest import check_dependency, parse_manifest

BASE = {"name": "sample", "version": "1.0.0", "category": "llm", "provider_name": "sample",
        "entry_point": "sample:SampleProvider"}


def _raw(**fields: object) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


JSON_TRAPS = {
    "duplicate-key": b'{"name": "sample", "name": "evil", "version": "1.0.0", "category": "llm",'
                     b' "provider_name": "s", "entry_point": "sample:S"}',
    "nan": _raw().replace(b"}", b', "description": NaN}'),
    "infinity": _raw().replace(b"}", b', "description": Infinity}'),
    "neg-infinity": _raw().replace(b"}", b', "description": -Infinity}'),
    "float-overflow": _raw().replace(b"}", b', "config_schema": {"x": 1e999}}'),
    "huge-int": _raw().replace(b"}", b', "config_schema": {"x": ' + b"9" * 5000 + b"}}"),
    "deep-nesting": _raw().replace(b"}", b', "config_schema": ' + b'{"a":' * 40 + b"1"
                                   + b"}" * 40 + b"}"),
    "very-deep-nesting": b"[" * 200_000 + b"]" * 200_000,
    "long-string": _raw(description="x" * 20_000),
    "lone-surrogate": _raw().replace(b"}", b', "description": "\\ud800"}'),
    "bom": b"\xef\xbb\xbf" + _raw(),
    "not-utf8": _raw(description="caf\u00e9").replace(b"caf\\u00e9", b"caf\xe9"),
    "not-an-object": b'["sample"]',
    "too-large": _raw(description="x" * 100).ljust(300 * 1024, b" "),
    "trailing-garbage": _raw() + b" {}",
}


@pytest.mark.parametrize("raw", list(JSON_TRAPS.values()), ids=list(JSON_TRAPS))
def test_json_traps_refused(raw: bytes) -> None:
    with pytest.raises(BundleInvalidError):
        parse_manifest(raw)


SCHEMA_FAILS = {
    "missing-entry-point": {"entry_point": None},
    "bad-name": {"name": "Bad-Name"},
    "bad-version": {"version": "one"},
    "unnormalised-version": {"version": "1.0.0-alpha"},
    "local-version": {"version": "1.0+local"},
    "bad-category": {"category": "crypto-miner"},
    "bad-entry-point": {"entry_point": "os;system"},
    "unknown-field": {"install_script": "curl | sh"},
    "bad-compat": {"pepperpy_compatibility": ">=x"},
    "bad-env-name": {"config_schema": {"type": "object",
                                       "properties": {"k": {"env": "lower case"}}}},
    "bad-lock-hash": {"dependency_lock": [{"name": "a", "version": "1", "hashes": ["md5:00"]}]},
}


@pytest.mark.parametrize("fields", list(SCHEMA_FAILS.values()), ids=list(SCHEMA_FAILS))
def test_schema_failures(fields: dict) -> None:
    value = {**BASE, **fields}
    value = {k: v for k, v in value.items() if v is not None}
    with pytest.raises(BundleInvalidError):
        parse_manifest(json.dumps(value).encode())


# JSON Schema patterns are searched and Python's ``$`` also matches before a final
# newline, so each of these passes the schema alone; "echo\n" would install as a plugin
# that cannot be removed, a lock version "1.0\n" would crash ``doctor``.
_HASH = "sha256:" + "a" * 64
TRAILING_NEWLINES = {
    "name": {"name": "sample\n"},
    "provider-name": {"provider_name": "sample\n"},
    "entry-point": {"entry_point": "sample:SampleProvider\n"},
    "config-env": {"config_schema": {"type": "object", "properties": {"k": {"env": "KEY\n"}}}},
    "lock-name": {"dependency_lock": [{"name": "a\n", "version": "1", "hashes": [_HASH]}]},
    "lock-version": {"dependency_lock": [{"name": "a", "version": "1.0\n", "hashes": [_HASH]}]},
    "lock-hash": {"dependency_lock": [{"name": "a", "version": "1", "hashes": [_HASH + "\n"]}]},
}


@pytest.mark.parametrize("fields", list(TRAILING_NEWLINES.values()), ids=list(TRAILING_NEWLINES))
def test_trailing_newline_never_satisfies_a_pattern(fields: dict) -> None:
    with pytest.raises(BundleInvalidError):
        parse_manifest(json.dumps({**BASE, **fields}).encode())
    assert parse_manifest(json.dumps({**BASE, **json.loads(
        json.dumps(fields).replace("\\n", ""))}).encode()).name == "sample"


BAD_DEPS = {
    "url": "evil @ https://evil.test/evil-1.0.whl",
    "file-url": "evil @ file:///tmp/evil.whl",
    "vcs": "evil @ git+https://github.com/x/evil",
    "bare-vcs": "git+https://github.com/x/evil",
    "path": "./evil",
    "abs-path": "/tmp/evil.whl",
    "option-index": "--index-url=https://evil.test/simple",
    "option-short": "-e .",
    "option-extra-index": "--extra-index-url https://evil.test",
    "arbitrary-equality": "requests===2.0",
    "newline": "requests\n--index-url=https://evil.test",
    "tab": "requests\t>=2",
    "leading-space": " requests",
    "trailing-space": "requests ",
    "double-space": "requests  >=2",
    "comment": "requests # note",
    "hash-option": "requests==2.0 --hash=sha256:00",
    "empty": "",
    "non-ascii": "r\u0435quests",
    "invalid": "requests>>2",
    "backslash": "requests\\",
}


@pytest.mark.parametrize("dep", list(BAD_DEPS.values()), ids=list(BAD_DEPS))
def test_bad_dependencies_refused(dep: str) -> None:
    with pytest.raises(BundleInvalidError, match="dependency"):
        check_dependency(dep)
    with pytest.raises(BundleInvalidError):
        parse_manifest(_raw(dependencies=[dep]))


GOOD_DEPS = ["requests", "requests>=2.31", "openai[realtime]>=1.40,<2",
             "tomli>=2; python_version < \"3.11\"", "numpy~=1.26", "Foo.Bar_baz-qux==1.0.*",
             "psycopg[binary,pool]>=3.1", "x!=1.5; sys_platform == 'linux'"]


@pytest.mark.parametrize("dep", GOOD_DEPS)
def test_good_dependencies_accepted(dep: str) -> None:
    assert check_dependency(dep).name
    assert parse_manifest(_raw(dependencies=[dep])).dependencies == (dep,)


def test_full_manifest_parses() -> None:
    raw = _raw(description="d", author="a", pepperpy_compatibility=">=0.1,<0.2",
               dependencies=["openai>=1.40"], python_requires=">=3.11", license="MIT",
               homepage="https://example.test",
               config_schema={"type": "object", "properties": {
                   "api_key": {"type": "string", "env": "OPENAI_API_KEY", "secret": True},
                   "temperature": {"type": "number", "default": 0.7}}},
               dependency_lock=[{"name": "openai", "version": "1.40.0",
                                 "hashes": ["sha256:" + "a" * 64]}])
    m = parse_manifest(raw)
    assert m.config_schema["properties"]["api_key"]["secret"] is True
    assert m.dependency_lock[0].hashes == ("sha256:" + "a" * 64,)
    assert m.module == "sample" and m.class_name == "SampleProvider"


def test_compatibility() -> None:
    compatible(parse_manifest(_raw(pepperpy_compatibility=">=0.1,<0.2")), path="x",
               pepperpy_version="0.1.0")
    with pytest.raises(PluginLoadError, match=r"needs PepperPy >=1\.0"):
        compatible(parse_manifest(_raw(pepperpy_compatibility=">=1.0")), path="x",
                   pepperpy_version="0.1.0")
    compatible(parse_manifest(_raw()), path="x", pepperpy_version="0.1.0")
