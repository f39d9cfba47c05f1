"""The ``AsyncOpenAI`` client every OpenAI-SDK plugin builds from its validated config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai


def open_client(config: Mapping[str, Any], *, headers: Mapping[str, str] | None = None) -> Any:
    """A client for ``api_key``, ``base_url``, ``organization`` and ``timeout``.

    The SDK never retries (``max_retries=0``): PepperPy's one retry policy does, above
    every provider, so a request is never retried twice over.
    """
    return openai.AsyncOpenAI(
        api_key=config["api_key"],
        base_url=config.get("base_url"),
        organization=config.get("organization"),
        timeout=float(config["timeout"]),
        max_retries=0,
        default_headers=dict(headers) if headers else None,
    )
