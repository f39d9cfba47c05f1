"""`import pepperpy` stays small: no SDKs, no heavy libraries, nothing at import time."""

from __future__ import annotations

import json
import subprocess
import sys

import pepperpy

HEAVY = [
    "openai", "anthropic", "chromadb", "pydantic", "jsonschema", "cryptography",
    "httpx", "numpy", "torch", "asyncio", "llama_cpp", "onnxruntime", "psycopg",
    "opentelemetry",
]


def test_import_pepperpy_loads_no_heavy_module() -> None:
    code = "import sys, json, pepperpy; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert [m for m in HEAVY if m in loaded] == []


def test_all_is_exactly_the_public_surface() -> None:
    public = {name for name in dir(pepperpy) if not name.startswith("_")} | {"__version__"}
    assert pepperpy.__all__ == sorted(pepperpy.__all__)
    assert set(pepperpy.__all__) == public
    for name in pepperpy.__all__:
        assert getattr(pepperpy, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        pepperpy.DoesNotExist  # noqa: B018
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_every_error_is_a_pepperpy_error() -> None:
    from pepperpy import core

    for name in core.__all__:
        obj = getattr(core, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, pepperpy.PepperpyError), name
    assert issubclass(pepperpy.RevokedError, pepperpy.TrustError)
    assert issubclass(pepperpy.RateLimitError, pepperpy.ProviderError)
