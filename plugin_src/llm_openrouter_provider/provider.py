"""OpenRouter: hundreds of models behind one OpenAI-compatible API."""

from __future__ import annotations

from typing import Any, ClassVar

from pepperpy.openai_compatible import OpenAIChatProvider

__all__ = ["OpenRouterProvider"]


class OpenRouterProvider(OpenAIChatProvider):
    """``with_llm("openrouter", api_key=..., model="anthropic/claude-3.5-haiku")``.

    Sends OpenRouter's attribution headers: ``HTTP-Referer`` (``site_url``) and
    ``X-Title`` (``app_name``).
    """

    vendor: ClassVar[str] = "openrouter"
    key_env: ClassVar[str] = "OPENROUTER_API_KEY"

    def __init__(
        self, *, site_url: str | None = None, app_name: str = "PepperPy", **config: Any
    ) -> None:
        super().__init__(site_url=site_url, app_name=app_name, **config)

    def default_headers(self) -> dict[str, str]:
        headers = {"X-Title": self.config["app_name"]}
        if self.config.get("site_url"):
            headers["HTTP-Referer"] = self.config["site_url"]
        return headers
