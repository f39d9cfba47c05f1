"""``pepperpy._jsonio`` answers as ``json`` does, value for value and error for error, and a
load of an installed, already verified plugin never imports the ``json`` package."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from pepperpy import _jsonio

TEXTS = [
    '{"a": [1, 2.5, -3e10, null, true, false, "x\\u00e9\\ud83d\\ude00"]}', " [ ] ", "\n{}\t",
    '"s"', "1", "-0", "1e400", "NaN", "[Infinity, -Infinity]", '{"a":1}x', "", "   ", "\ufeff{}",
    "[1,]", '{"a" 1}', '"\x01"', "[" * 10 + "]" * 10, '{"a":1,"a":2}', "01", "1 2", "nul",
    "[" * 100_000, '"\\ud800"', '{"k": "v"} \r\n', '{"k": "v"} \x0c', "\u00a0[]", "[1e5, 1E-5]",
    "\n\n\n[1,\n2,\n}", '"unterminated', "12345678901234567890123", "{}" * 2,
]
NOT_TEXT = [b"{}", b"\xff", bytearray(b"[1]"), b"\x00[\x00]", 5, None, ["[]"]]


def _outcome(call):
    try:
        return "ok", repr(call())
    except Exception as exc:  # the exception is what is compared
        return type(exc), str(exc)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _random_text(rng: random.Random) -> str:
    pieces = ['{"', '":', "[", "]", "{", "}", ",", '"', "\\", "u00e9", "1", "-", ".", "e", "9",
              "null", "true", "fals", " ", "\n", "\t", "NaN", "Infinity", "\u2028", "é"]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14)))


@pytest.mark.parametrize("parse_constant", [None, _refuse_constant])
def test_loads_gives_json_s_value_or_json_s_error(parse_constant):
    rng = random.Random(25)
    texts = TEXTS + NOT_TEXT + [_random_text(rng) for _ in range(3000)]
    for text in texts:
        expected = _outcome(lambda t=text: json.loads(t, parse_constant=parse_constant))
        got = _outcome(lambda t=text: _jsonio.loads(t, parse_constant=parse_constant))
        assert got == expected, text


def _circular() -> list[object]:
    value: list[object] = []
    value.append(value)
    return value


VALUES = [
    {"b": 1, "a": [1.5, float("nan"), float("inf"), float("-inf"), None, True, "é\n\u2028"]},
    "str\u2028\x00", 3, 2**70, 1e300, -0.0, [], {}, (), ({"x": ("y",)},), {2: 1, 1: 3},
    {True: 1, None: 2, 1.5: 3}, {1: 2, "x": {"y": [()]}}, {1, 2}, [object()], {(1,): 2}, b"x",
    _circular(), {"z": {"b": [1, {"a": None}]}, "a": "\ud800"},
]


@pytest.mark.parametrize("options", [{}, {"sort_keys": True, "separators": (",", ":")},
                                     {"separators": (",", ":")}, {"sort_keys": True}])
def test_dumps_gives_json_s_text_or_json_s_error(options):
    for value in VALUES:
        expected = _outcome(lambda v=value: json.dumps(v, **options))
        got = _outcome(lambda v=value: _jsonio.dumps(v, **options))
        assert got == expected, value


def test_a_load_that_hits_the_verified_cache_never_imports_json(tmp_path):
    """Fresh processes load an installed plugin whose verification the cache holds (the
    install recorded it): reading the trust store, the caches, the install state and the
    signature entry goes through ``_jsonio``, and nothing imports ``json``."""
    from pepperpy.bundle.build import build_bytes
    from pepperpy.plugins.install import install_bundle
    from pepperpy.settings import Settings
    from pepperpy_testing.bundles import BundleFactory

    factory = BundleFactory(publisher="jsonio")
    home = tmp_path / "home"
    factory.trust(home)
    manifest = ('{"name": "store", "version": "1.0.0", "category": "storage", '
                '"provider_name": "store", "entry_point": "provider:Store"}')
    provider = ("from pepperpy.storage import StorageProvider\n\n"
                "class Store(StorageProvider):\n"
                "    async def put(self, namespace, key, value): pass\n"
                "    async def get(self, namespace, key): return None\n"
                "    async def delete(self, namespace, key): return False\n"
                "    async def list(self, namespace, *, prefix=''): return []\n")
    bundle = tmp_path / "store.pepperplugin"
    bundle.write_bytes(build_bytes([("plugin.json", manifest.encode()),
                                    ("provider.py", provider.encode())], factory.key).data)
    install_bundle(bundle, settings=Settings(home=home, checkout_plugins=False))
    code = f"""
import sys
from pathlib import Path
from pepperpy.plugins.manager import PluginManager
from pepperpy.registry import ProviderRegistry
from pepperpy.settings import Settings
settings = Settings(home=Path({str(home)!r}), auto_install=False, checkout_plugins=False)
ProviderRegistry(resolver=PluginManager(settings)).load("storage", "store")
print("json" in sys.modules, "pepperpy._jsonio" in sys.modules)
"""
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, check=False) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    outs = [r.stdout.split() for r in runs]
    assert outs == [["False", "True"]] * 2  # the install recorded its verification
