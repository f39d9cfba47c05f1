"""The "did you mean ...?" guess for a mistyped name, made on what differs.

Plugin names share their parts (``llm_openai_provider``, ``llm_local_provider``), and
options their prefixes (``--``, ``max_``): matched whole, those shared parts make
unrelated names look close. So the parts (split at ``_``, ``-`` and ``.``) that the
typed name and a candidate share at the start and the end are set aside, and only
what remains is compared (the whole names when one is the other with parts left
out, as in ``openai_provider``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["closest"]

_PARTS = re.compile(r"[_.-]")


def _distinct(typed: list[str], known: list[str]) -> tuple[str, str]:
    """Both names without the parts they share at the start and at the end."""
    start = 0
    while start < min(len(typed), len(known)) and typed[start] == known[start]:
        start += 1
    end = 0
    while (end < min(len(typed), len(known)) - start
           and typed[-1 - end] == known[-1 - end]):
        end += 1
    return "_".join(typed[start:len(typed) - end]), "_".join(known[start:len(known) - end])


def closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The name of ``known`` that ``name`` most likely mistypes, or None."""
    import difflib  # only when a name is refused

    typed = _PARTS.split(name)
    best, best_score = None, cutoff
    for candidate in sorted(set(known)):
        mine, theirs = _distinct(typed, _PARTS.split(candidate))
        if not mine or not theirs:  # one is the other with parts left out: compare whole
            mine, theirs = name, candidate
        score = difflib.SequenceMatcher(None, mine, theirs).ratio()
        if score >= best_score and (best is None or score > best_score):
            best, best_score = candidate, score
    return best
