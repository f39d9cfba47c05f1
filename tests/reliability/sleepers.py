"""A provider that takes as long as it is told, behind the reliability layer: the
deadline tests' subject (no network, so only the timer decides)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
)
from pepperpy.reliability.fallback import Link
from pepperpy.reliability.layer import Reliability, ReliableLLM


class Sleeper(LLMProvider):
    """Answers after as many seconds as the last message says; a stream sends its first
    chunk at once and the second after that wait."""

    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        await asyncio.sleep(float(messages[-1].content))
        return GenerationResult(content="done")

    async def generate_stream(self, messages: Sequence[Message], options: GenerationOptions
                              ) -> AsyncIterator[GenerationChunk]:
        yield GenerationChunk("first ")
        await asyncio.sleep(float(messages[-1].content))
        yield GenerationChunk("done")


def layer() -> tuple[Reliability, ReliableLLM]:
    """A started ``Sleeper`` behind a fresh reliability layer."""
    provider = Sleeper()
    provider.initialized = True

    async def start() -> Any:
        return provider

    rel = Reliability()
    return rel, ReliableLLM(rel, [Link("sleeper", provider, start)])
