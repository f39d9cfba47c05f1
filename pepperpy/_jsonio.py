"""``loads`` and ``dumps``: ``json.loads``/``json.dumps`` for the plugin load path, without
importing the ``json`` package.

Why: ``import json`` imports four modules and compiles six regular expressions, about
5.5M instructions (1.4 ms), and a load of an installed plugin only reads a few small
state files. Both functions call the C scanner and encoder of ``_json``, which is what
``json.loads`` and ``json.dumps`` run on CPython, with the same settings; anything other
than the plain success path (a syntax error, trailing data, a value the encoder cannot
write) is handed to ``json`` itself, so results and errors are ``json``'s, word for word.
A leaf: imports nothing from PepperPy.
"""

from __future__ import annotations

from _json import encode_basestring_ascii, make_encoder, make_scanner
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]

_SPACE = " \t\n\r"  # what json's decoder skips around a value


class _Settings:
    """What the C scanner reads from ``json.JSONDecoder``: its defaults."""

    __slots__ = ("parse_constant",)
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    def __init__(self, parse_constant: Callable[[str], Any] | None) -> None:
        self.parse_constant = parse_constant or _CONSTANTS.__getitem__


_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_DEFAULT_SCAN = make_scanner(_Settings(None))  # type: ignore[arg-type]  # duck-typed


def loads(text: Any, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text, parse_constant=parse_constant)``."""
    end = -1
    if isinstance(text, str):  # bytes (rare here) and non-text go to json
        scan = (_DEFAULT_SCAN if parse_constant is None
                else make_scanner(_Settings(parse_constant)))  # type: ignore[arg-type]
        try:
            value, end = scan(text, len(text) - len(text.lstrip(_SPACE)))
        except StopIteration:  # no value where one must start: json says where and why
            pass
    if end < 0 or text[end:].strip(_SPACE):
        import json  # an error (or a BOM): json raises its own exception for it

        return json.loads(text, parse_constant=parse_constant)
    return value


def dumps(value: Any, *, sort_keys: bool = False,
          separators: tuple[str, str] | None = None) -> str:
    """``json.dumps(value, sort_keys=sort_keys, separators=separators)``."""
    items, keys = separators or (", ", ": ")
    if isinstance(value, str):
        return encode_basestring_ascii(value)  # type: ignore[no-any-return]
    try:
        encode = make_encoder({}, _refuse, encode_basestring_ascii, None, keys, items,
                              sort_keys, False, True)
        return "".join(encode(value, 0))
    except (TypeError, ValueError, RecursionError):
        import json  # json raises its own exception for what it cannot write

        return json.dumps(value, sort_keys=sort_keys, separators=separators)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
