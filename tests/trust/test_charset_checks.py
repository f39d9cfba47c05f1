"""The load path's character checks (``str.strip`` with the allowed characters, so that
no regex is compiled at import) accept exactly what the regular expressions they
replaced accept, on generated strings: ASCII, every near miss, non-ASCII look-alikes
(Arabic digits, full-width letters), newlines, empty and boundary lengths."""

from __future__ import annotations

import json
import random
import re
import string

from pepperpy.bundle.trust import _hex64
from pepperpy.core import BundleInvalidError
from pepperpy.trust.archive import name_problem
from pepperpy.trust.authentic import FORMAT, parse_signature_entry
from pepperpy.trust.sealed import NAMESPACE, package_name

ALPHABET = (string.ascii_letters + string.digits + "._/-+=\\ \n\t\x00:@#~"
            + "\u0660\u0669\uff21\uff41\u00e9\u0131\u212a\u00b2_")


def _strings(seed: int, count: int, lengths: tuple[int, ...]) -> list[str]:
    rng = random.Random(seed)
    out = ["", "a", "_", "\n", "a\n", "0" * 64, "0" * 64 + "\n", "A" * 86 + "=="]
    for _ in range(count):
        size = rng.choice(lengths)
        pool = rng.choice((ALPHABET, string.hexdigits, string.ascii_letters + "+/",
                           "abcdef0123456789\u0660"))
        out.append("".join(rng.choice(pool) for _ in range(size)))
    return out


def test_entry_name_characters_match_the_regex():
    for text in _strings(1, 600, (1, 2, 5, 20, 63, 64, 65, 88)):
        allowed = re.fullmatch(r"[A-Za-z0-9._/-]+", text) is not None
        problem = name_problem(text) or ""
        assert ("has characters outside" in problem) == (bool(text) and not allowed)


def test_hex_digests_match_the_regex():
    for text in _strings(2, 600, (1, 8, 63, 64, 65)):
        assert _hex64(text) == (re.fullmatch(r"[0-9a-f]{64}", text) is not None)


def test_package_names_match_the_regex():
    for text in _strings(3, 400, (0, 3, 30)):
        safe = re.sub(r"\W", "_", text).strip("_") or "plugin"
        assert package_name(text, "d" * 64) == f"{NAMESPACE}.{safe}_{'d' * 64}"


def _entry(key_id: str, signature: str) -> bytes:
    body = {"format": FORMAT, "key_id": key_id, "signature": signature}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def test_signature_entry_fields_match_the_regexes():
    for text in _strings(4, 300, (63, 64, 65, 86, 87, 88, 89)):
        good_key, good_sig = "ab" * 32, "A" * 86 + "=="
        for key_id, sig, pattern, value in ((text, good_sig, r"[0-9a-f]{64}", text),
                                            (good_key, text, r"[A-Za-z0-9+/]{86}==", text)):
            try:
                parse_signature_entry(_entry(key_id, sig))
                shape_ok = True
            except BundleInvalidError as exc:
                shape_ok = "not 64 lowercase hex" not in str(exc) and "not base64" not in str(exc)
            assert shape_ok == (re.fullmatch(pattern, value) is not None), (key_id, sig)
