"""PepperPy's conformance suite, run against this plugin as users get it: built
with a throwaway key, verified, and imported from the signed bundle.

    python -m pytest tests        # or: pepperpy plugin test .
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pepperpy_testing.conformance import LLMConformance


class TestShoutLLMProvider(LLMConformance):
    plugin = Path(__file__).resolve().parents[1]
    config: ClassVar[dict[str, Any]] = {"suffix": "!!"}  # the options passed to the provider
