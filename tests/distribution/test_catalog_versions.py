"""Choosing a version from an index without importing ``packaging`` for plain release
numbers: the order, "is newer" and "is compatible" agree with ``packaging`` on every
pair of a table that mixes plain releases with every other PEP 440 form."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pepperpy.distribution.catalog import Offer, _version_key, newer

VERSIONS = ["1", "1.0", "1.0.0", "01.2", "1.2", "1.2.0.0", "1.10", "1.9.9", "0.0.1", "2",
            "10.0", "1.0a1", "1.0.post1", "1.0.dev3", "1.0rc2", "1.0+local.7", "v1.0",
            "2!0.1", "1.2.3.4.5", "not-a-version", "1..2", "0"]


def _reference(version: str) -> Any:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def test_the_order_is_packaging_s() -> None:
    for permutation in (VERSIONS, list(reversed(VERSIONS))):
        ours = sorted(permutation, key=_version_key)
        assert ours == sorted(permutation, key=_reference)


@pytest.mark.parametrize("a, b", list(itertools.product(VERSIONS, repeat=2)))
def test_newer_agrees_with_packaging(a: str, b: str) -> None:
    assert newer(a, b) is (_reference(a) > _reference(b))
    assert (_version_key(a) == _version_key(b)) is (_reference(a) == _reference(b))


RANGES = [">=0.1,<0.2", ">=0.1", "<1", "==0.1", "==0.1.0", "!=0.1", ">0.1.0", "<=0.1",
          ">= 0.1 , < 2", "~=0.1", ">=0.1a1", "===0.1", "bogus", ">=0.1,", ""]


@pytest.mark.parametrize("spec", RANGES)
@pytest.mark.parametrize("running", ["0.1", "0.1.0", "0.2", "1.0", "0.1rc1"])
def test_compatible_agrees_with_packaging(spec: str, running: str) -> None:
    offer = Offer(index="main", path="p-1.0.pepperplugin", length=1, sha256="0" * 64,
                  name="p", version="1.0", category="llm", provider_name="p",
                  pepperpy_compatibility=spec or None)
    try:
        expected = not spec or SpecifierSet(spec).contains(running, prereleases=True)
    except InvalidSpecifier:
        expected = False
    assert offer.compatible(pepperpy_version=running, python="3.11.7") is expected
