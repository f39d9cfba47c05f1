"""OpenAI chat models (and any OpenAI-compatible server via ``base_url``)."""

from __future__ import annotations

from typing import ClassVar

from pepperpy.openai_compatible import OpenAIChatProvider

__all__ = ["OpenAIProvider"]


class OpenAIProvider(OpenAIChatProvider):
    """``with_llm("openai", api_key=..., model=..., base_url=...)``.

    ``base_url`` points it at vLLM, llama.cpp's server, Ollama or a test server.
    """

    vendor: ClassVar[str] = "openai"
    key_env: ClassVar[str] = "OPENAI_API_KEY"
