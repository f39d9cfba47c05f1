"""A provider that shouts back: the smallest complete LLM provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
)


class ShoutProvider(LLMProvider):
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        last = next(m.content for m in reversed(messages) if m.role is MessageRole.USER)
        return GenerationResult(content=last.upper() + self.config["suffix"], model="shout")

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        result = await self.generate(messages, options)
        for word in result.content.split(" "):
            yield GenerationChunk(content=word + " ")
        yield GenerationChunk(content="", finish_reason="stop")
