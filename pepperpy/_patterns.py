"""``re.search`` for the patterns config schemas use, without compiling a regex.

Compiling a pattern with ``re`` costs about 0.1 ms of pure Python on first use, paid on
every cold load of a plugin whose ``config_schema`` has a ``pattern``. The shipped ones are
all of one shape: ``^``, then character classes or letters each with an optional
``{m}``/``{m,n}``, then ``$``. Those are matched here; anything else (or anything this
parser is unsure of) goes to ``re.search``, so the answer is always ``re``'s
(``tests/core/test_patterns.py`` compares both on generated patterns and values).
"""

from __future__ import annotations

__all__ = ["search"]

# spelled out: ``import string`` compiles string.Template's pattern (0.3 ms)
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_IN_CLASS = _PLAIN | frozenset("._+-")  # letters a class may hold besides ranges
_SHAPES: dict[str, tuple[tuple[frozenset[str], int, int], ...] | None] = {}


def search(pattern: str, value: str) -> bool:
    """``re.search(pattern, value) is not None``."""
    if pattern not in _SHAPES:
        _SHAPES[pattern] = _parse(pattern)
    atoms = _SHAPES[pattern]
    if atoms is None:
        import re

        return re.search(pattern, value) is not None
    ends = {0}
    for chars, low, high in atoms:
        reached: set[int] = set()
        for start in ends:
            at = start
            while True:
                if at - start >= low:
                    reached.add(at)
                if at - start == high or at == len(value) or value[at] not in chars:
                    break
                at += 1
        if not (ends := reached):
            return False
    # "$" matches at the end, or before a newline that ends the string
    return len(value) in ends or (value.endswith("\n") and len(value) - 1 in ends)


def _parse(pattern: str) -> tuple[tuple[frozenset[str], int, int], ...] | None:
    if len(pattern) < 3 or pattern[0] != "^" or pattern[-1] != "$" or not pattern.isascii():
        return None
    atoms, at, end = [], 1, len(pattern) - 1
    while at < end:
        if pattern[at] in _PLAIN:
            chars, at = frozenset(pattern[at]), at + 1
        elif pattern[at] == "[":
            close = pattern.find("]", at + 1)
            if close < 0 or (found := _class(pattern[at + 1 : close])) is None:
                return None
            chars, at = found, close + 1
        else:
            return None
        low = high = 1
        if at < end and pattern[at] == "{":
            close = pattern.find("}", at)
            if close < 0 or close > end or (bounds := _bounds(pattern[at + 1 : close])) is None:
                return None
            (low, high), at = bounds, close + 1
        atoms.append((chars, low, high))
    return tuple(atoms)


def _class(body: str) -> frozenset[str] | None:
    """The characters of ``[body]``: letters, digits, ``._+``, ranges such as ``a-z``, and
    ``-`` only as the last character (a literal there)."""
    chars: set[str] = set()
    at = 0
    while at < len(body):
        if body[at] == "-" and at == len(body) - 1 and at > 0:
            chars.add("-")
            at += 1
        elif at + 2 < len(body) and body[at + 1] == "-" and body[at] in _PLAIN \
                and body[at + 2] in _PLAIN:
            first, last = body[at], body[at + 2]
            if first > last or first.isdigit() != last.isdigit() \
                    or (first.isalpha() and first.isupper() != last.isupper()):
                return None
            chars.update(chr(c) for c in range(ord(first), ord(last) + 1))
            at += 3
        elif body[at] in _IN_CLASS and body[at] != "-":
            chars.add(body[at])
            at += 1
        else:
            return None
    return frozenset(chars) if chars else None


def _bounds(body: str) -> tuple[int, int] | None:
    low, comma, high = body.partition(",")
    if not (low.isdigit() and low.isascii()) or (comma and not (high.isdigit() and high.isascii())):
        return None
    bounds = int(low), int(high) if comma else int(low)
    return bounds if bounds[0] <= bounds[1] <= 1000 else None
