"""``pepperpy._patterns.search`` answers exactly as ``re.search`` does.

The config check matches schema patterns of the shipped shape without compiling a regex;
every other pattern goes to ``re``. These tests compare both on the shipped patterns and
on generated ones, against values built to hit the edges (lengths at the bounds, a
trailing newline, non-ASCII, characters just outside each class).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy import _patterns

ROOT = Path(__file__).resolve().parents[2]


def _shipped() -> list[str]:
    found = []
    for manifest in sorted((ROOT / "plugin_src").glob("*/plugin.json")):
        schema = json.loads(manifest.read_text()).get("config_schema") or {}
        found += [spec["pattern"] for spec in schema.get("properties", {}).values()
                  if "pattern" in spec]
    return found


ALPHABET = "aAzZ09_.-+/:é \n\tbY5[]$^"
PIECES = ["[A-Za-z_]", "[A-Za-z0-9_]", "[A-Za-z0-9._-]", "[a-z]", "[0-9]", "[A-Z0-9+-]",
          "a", "Z", "7", "[a-]", "[A-z]", "[-a]", "[^a]", r"\d", "[]", "[z-a]", ".", "(a)"]
QUANTIFIERS = ["", "{0,3}", "{1,2}", "{2}", "{0,0}", "{3,1}", "{1, 2}", "{,2}", "{2,}", "?",
               "+", "*", "{1,2000}"]


def _values(rng: random.Random) -> list[str]:
    out = ["", "a", "\n", "a\n", "a\n\n", "é", "ab" * 40, "x" * 63, "x" * 64, "_" * 62 + "\n"]
    for _ in range(60):
        out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 9))))
    return out


def _same(pattern: str, value: str) -> None:
    try:
        expected = re.search(pattern, value) is not None
    except re.error:
        with pytest.raises(re.error):
            _patterns.search(pattern, value)
        return
    assert _patterns.search(pattern, value) is expected, (pattern, value)


def test_every_shipped_pattern_is_matched_without_re_and_as_re_does() -> None:
    rng = random.Random(1)
    patterns = _shipped()
    assert len(patterns) >= 5
    for pattern in patterns:
        if pattern.endswith("$"):
            assert _patterns._parse(pattern) is not None, pattern  # the fast shape
        for value in [*_values(rng), "pepperpy", "pepperpy_storage", "en", "en-us",
                      "a" * 512, "a" * 513, "-a", "a-", "a.b", "1abc"]:
            _same(pattern, value)


def test_generated_patterns_agree_with_re() -> None:
    rng = random.Random(2)
    for _ in range(1500):
        body = "".join(rng.choice(PIECES) + rng.choice(QUANTIFIERS)
                       for _ in range(rng.randint(1, 4)))
        pattern = rng.choice(["^", "", "^^"]) + body + rng.choice(["$", "", "$$", "\\$"])
        for value in _values(rng)[:25]:
            _same(pattern, value)


def test_patterns_of_another_shape_go_to_re() -> None:
    for pattern in ["^https?://", "a", "^(a|b)$", r"^\w+$", "^[^a]$", "^a+$", "^[A-z]$"]:
        assert _patterns._parse(pattern) is None, pattern
    assert _patterns.search("^https?://", "http://127.0.0.1")
    assert not _patterns.search("^https?://", "ftp://x")


def test_a_load_of_a_plugin_with_a_pattern_compiles_no_regex() -> None:
    code = ("import re, sys\n"
            "from pepperpy.config_check import config_errors\n"
            "schema = {'type': 'object', 'properties': {'table': {'type': 'string', "
            "'pattern': '^[A-Za-z_][A-Za-z0-9_]{0,62}$'}}}\n"
            "before = re._cache.copy() if hasattr(re, '_cache') else {}\n"
            "assert config_errors(schema, {'table': 'ok_1'}) == []\n"
            "assert config_errors(schema, {'table': '1bad'}) != []\n"
            "after = re._cache if hasattr(re, '_cache') else {}\n"
            "print(sum(1 for k in after if k not in before and '62' in str(k)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "0"


def test_the_matcher_imports_nothing_that_compiles_a_regex() -> None:
    code = ("import sys\n"
            "import pepperpy._patterns\n"
            "print(sorted({'string', 're', 'weakref'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "string" not in out.stdout
