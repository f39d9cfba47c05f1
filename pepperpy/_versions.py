"""PEP 440 specifier checks for plain release numbers, without importing ``packaging``.

Why: importing ``packaging.specifiers`` costs more than the rest of loading a cached
plugin, and compatibility ranges (``>=0.1,<0.2``) are plain release numbers. Anything
else goes to ``packaging``; ``tests/plugins/test_trust_core.py`` checks the two agree.
Imports nothing from PepperPy (the trust kernel uses it).
"""

from __future__ import annotations

import re

__all__ = ["admits"]

_SIMPLE_CLAUSE = re.compile(r"\s*(>=|<=|>|<|==|!=)\s*([0-9]+(?:\.[0-9]+)*)\s*\Z")
_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*\Z")


def admits(specifiers: str, version: str) -> bool:
    """PEP 440 ``SpecifierSet(specifiers).contains(version, prereleases=True)``.

    Clauses of plain release numbers (``>=0.1,<0.2``: what compatibility ranges are)
    are compared here as zero-padded tuples, which is exactly PEP 440 for release-only
    versions on both sides; anything else goes to ``packaging``. Importing
    ``packaging.specifiers`` costs more than the rest of loading a cached plugin.
    """
    clauses = [_SIMPLE_CLAUSE.match(c) for c in specifiers.split(",")]
    if not _RELEASE.match(version) or not all(clauses):
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(specifiers).contains(version, prereleases=True)
    have = _release(version)
    for clause in clauses:
        op, want = clause.group(1), _release(clause.group(2))  # type: ignore[union-attr]
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if not {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b,
                "!=": a != b}[op]:
            return False
    return True


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
