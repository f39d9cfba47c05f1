"""The trust kernel and the trust store decode base64 with ``binascii`` directly (the
``base64`` module is not imported on a plugin load): the calls must accept and refuse
exactly what ``base64.b64decode(s, validate=True)`` / ``b64encode`` do."""

from __future__ import annotations

import base64
import binascii
import os

import pytest

CASES: list[object] = [
    base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(64)).decode(),
    "", "QQ==", "QQ=", "QQ", "QQ===", "=QQ=", "QQ==QQ==", "Q Q==", "QQ==\n", "QQ\n==",
    "QUJD", "QUJD-_==", "QUJD+/==", "QUJ\u00e9", "QUJDRA==\x00", b"QUJD", b"QUJ*",
    bytearray(b"QUJD"), 5, None, ["QUJD"],
]


def _outcome(call, arg):
    try:
        return ("ok", call(arg))
    except Exception as exc:  # the exception class is the outcome
        return ("raises", type(exc))


@pytest.mark.parametrize("text", CASES, ids=repr)
def test_strict_decode_is_b64decode_validate(text: object) -> None:
    assert _outcome(lambda s: binascii.a2b_base64(s, strict_mode=True), text) == _outcome(
        lambda s: base64.b64decode(s, validate=True), text)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 32, 64, 1000])
def test_encode_is_b64encode(size: int) -> None:
    data = os.urandom(size)
    assert binascii.b2a_base64(data, newline=False) == base64.b64encode(data)


def test_a_plugin_load_path_does_not_import_base64() -> None:
    import subprocess
    import sys

    code = ("import sys\nimport pepperpy.plugins.manager, pepperpy.registry\n"
            "print(sorted(m for m in ('base64', '_hashlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
