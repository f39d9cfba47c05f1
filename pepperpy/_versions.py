"""PEP 440 specifier checks for plain release numbers, without importing ``packaging``.

Why: importing ``packaging.specifiers`` costs more than the rest of loading a cached
plugin, and compatibility ranges (``>=0.1,<0.2``) are plain release numbers. Anything
else goes to ``packaging``; ``tests/plugins/test_trust_core.py`` checks the two agree.
Imports nothing from PepperPy (the trust kernel uses it).
"""

from __future__ import annotations

__all__ = ["admits"]

_OPERATORS = (">=", "<=", ">", "<", "==", "!=")  # the two-character ones first
_DIGITS = frozenset("0123456789")


def _is_release(text: str) -> bool:
    """``[0-9]+(\\.[0-9]+)*``: ASCII digits in dot-separated groups, nothing else (no
    regular expression: compiling one costs more than the checks of a load)."""
    return all(part and _DIGITS.issuperset(part) for part in text.split("."))


def _clause(text: str) -> tuple[str, str] | None:
    """``(operator, release)`` for ``\\s*OP\\s*RELEASE\\s*``, else None (``str.strip``
    strips what ``\\s`` matches: both use ``str.isspace``)."""
    text = text.strip()
    for op in _OPERATORS:
        if text.startswith(op):
            rest = text[len(op):].strip()
            return (op, rest) if _is_release(rest) else None
    return None


def admits(specifiers: str, version: str) -> bool:
    """PEP 440 ``SpecifierSet(specifiers).contains(version, prereleases=True)``.

    Clauses of plain release numbers (``>=0.1,<0.2``: what compatibility ranges are)
    are compared here as zero-padded tuples, which is exactly PEP 440 for release-only
    versions on both sides; anything else goes to ``packaging``. Importing
    ``packaging.specifiers`` costs more than the rest of loading a cached plugin.
    """
    clauses = [_clause(c) for c in specifiers.split(",")]
    if not _is_release(version) or not all(clauses):
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(specifiers).contains(version, prereleases=True)
    have = _release(version)
    for clause in clauses:
        op, want = clause[0], _release(clause[1])  # type: ignore[index]
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if not {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b,
                "!=": a != b}[op]:
            return False
    return True


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
