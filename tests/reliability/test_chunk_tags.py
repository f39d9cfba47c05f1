"""Every streamed chunk names the provider that streamed it: a plugin's own tag is passed
through only when it is that provider's name on a text chunk; anything else is re-tagged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from pepperpy import PepperPy
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
)
from pepperpy.registry import ProviderRegistry

SENT: list[GenerationChunk] = []


class _Tagging(LLMProvider):
    """Yields the chunks the test puts in ``SENT``, as they are."""

    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:  # pragma: no cover - streams only
        return GenerationResult(content="")

    async def generate_stream(self, messages: Sequence[Message], options: GenerationOptions
                              ) -> AsyncIterator[GenerationChunk]:
        for chunk in SENT:
            yield chunk


async def _streamed(sent: list[GenerationChunk]) -> list[GenerationChunk]:
    SENT[:] = sent
    registry = ProviderRegistry()
    registry.register("llm", "tagging", _Tagging)
    async with PepperPy(registry=registry).with_llm("tagging") as pepper:
        llm = await pepper._llm_layer()
        return [c async for c in llm.generate_stream([Message("user", "hi")],
                                                     GenerationOptions())]


async def test_a_chunk_tagged_with_its_own_name_is_passed_through() -> None:
    own = GenerationChunk("a", provider="tagging")
    last = GenerationChunk("", finish_reason="stop", provider="tagging")
    got = await _streamed([own, last])
    assert got[0] is own and got[1] is last


@pytest.mark.parametrize("chunk", [
    GenerationChunk("a"),  # untagged
    GenerationChunk("a", provider="someone-else"),  # another provider's name: never trusted
    GenerationChunk("a", provider="tagging", kind="tool_result"),  # only text passes
], ids=["untagged", "other-name", "other-kind"])
async def test_any_other_chunk_is_tagged_by_the_layer(chunk: GenerationChunk) -> None:
    (got,) = await _streamed([chunk])
    assert got is not chunk
    assert (got.provider, got.kind, got.content) == ("tagging", "text", "a")
    assert (chunk.provider, chunk.kind) != ("tagging", "text")  # the plugin's is untouched
