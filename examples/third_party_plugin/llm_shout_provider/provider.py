"""Shouts the last user message back: the smallest complete LLM provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from pepperpy.core import BadRequestError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    Usage,
)


class ShoutLLMProvider(LLMProvider):
    """Answers with the last user message in capitals, then the configured suffix."""

    async def initialize(self) -> None:
        # Open clients and load models here, never in __init__; for example
        # self._client = self.close_on_cleanup(httpx.AsyncClient(...)) is closed for you.
        await super().initialize()

    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        self.require_initialized()
        _refuse_unsupported(options, self.provider_name)
        last = next((m.content for m in reversed(messages) if m.role is MessageRole.USER), "")
        text = last.upper() + self.config["suffix"]
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return GenerationResult(
            content=text,
            finish_reason="stop",
            model=options.model or self.config["model"],
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(text.split())),
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        result = await self.generate(messages, options)
        words = result.content.split(" ")
        for index, word in enumerate(words):
            yield GenerationChunk(content=word if index == len(words) - 1 else word + " ")
        # Exactly one chunk carries finish_reason, and it is the last one.
        yield GenerationChunk(content="", finish_reason="stop", usage=result.usage)


def _refuse_unsupported(options: GenerationOptions, provider: str) -> None:
    """Say so instead of silently ignoring what this provider cannot do."""
    if options.tools:
        raise BadRequestError(
            f"the {provider} provider cannot call tools; remove with_tools(...)",
            provider=provider,
        )
    if options.response_format is not None:
        raise BadRequestError(
            f"the {provider} provider has no structured output; remove with_schema(...)",
            provider=provider,
        )
