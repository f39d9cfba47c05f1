"""``pepperpy._versions`` parses clauses without regular expressions: it must take the
fast path for exactly the texts the patterns it replaced matched, and give packaging's
answer everywhere."""

from __future__ import annotations

import itertools
import re

import pytest
from packaging.specifiers import SpecifierSet

from pepperpy import _versions

CLAUSE = re.compile(r"\s*(>=|<=|>|<|==|!=)\s*([0-9]+(?:\.[0-9]+)*)\s*\Z")
RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*\Z")
PIECES = ["", " ", "\t", "\u00a0", "\u2003", "\n", ">=", "<=", ">", "<", "==", "!=", "~=",
          "=", "1", "0", "10", ".", "1.2", "1..2", "\u0661", "a", "*", "1.0rc1", "+"]


def _texts() -> list[str]:
    return ["".join(p) for n in (1, 2, 3) for p in itertools.product(PIECES, repeat=n)]


def test_clause_and_release_match_the_patterns_they_replaced() -> None:
    for text in _texts():
        want = CLAUSE.match(text)
        assert _versions._clause(text) == (want and (want.group(1), want.group(2))), text
        assert _versions._is_release(text) == bool(RELEASE.match(text)), text


@pytest.mark.parametrize("spec, version", [
    (">=0.1,<0.2", "0.1.5"), (" >= 1 , < 2 ", "1"), (">=1.0", "1"), ("==1", "1.0.0"),
    ("!=1.0", "1"), (">1", "1.0.1"), ("<1\u00a0", "0.9"), (">=1.0rc1", "1.0"),
    ("~=1.2", "1.3"), (">=1", "1.0rc1"), ("", "1"),
])
def test_admits_gives_packagings_answer(spec: str, version: str) -> None:
    want = SpecifierSet(spec).contains(version, prereleases=True)
    assert _versions.admits(spec, version) == want
