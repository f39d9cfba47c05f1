"""What ``chat.stream()`` returns: nothing runs before the first chunk is asked for, a
failed or closed stream is over, one reader at a time, and closing it closes the
provider's stream (and the call's deadline) at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from pepperpy import PepperPy, ProviderTimeoutError, ValidationError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
)
from pepperpy_testing import fake_registry


class Counted(LLMProvider):
    """Streams three chunks (the second after ``pause`` seconds) and records its streams."""

    opened = closed = 0
    pause = before = 0.0

    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        return GenerationResult(content="one two three", model="m")

    async def generate_stream(self, messages: Sequence[Message], options: GenerationOptions
                              ) -> AsyncIterator[GenerationChunk]:
        Counted.opened += 1
        try:
            await asyncio.sleep(Counted.before)
            yield GenerationChunk("one ")
            await asyncio.sleep(Counted.pause)
            yield GenerationChunk("two ")
            yield GenerationChunk("three", finish_reason="stop")
        finally:
            Counted.closed += 1


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Counted.opened = Counted.closed = 0
    Counted.pause = Counted.before = 0.0


def app() -> PepperPy:
    registry = fake_registry()
    registry.register("llm", "counted", Counted)
    return PepperPy(registry=registry).with_llm("counted", model="m").with_timeout(30)


async def nothing_runs_before_the_first_chunk(pepper: PepperPy, *, on_layer: bool) -> None:
    """A bad chat fails at its first chunk and is then over, having opened nothing; a
    good one reads every chunk, then ends, as often as asked. ``on_layer``: whether
    both streams are the layer's own generator (else the chat's)."""
    stream = pepper.chat.with_system("no user message").stream()  # no error yet
    assert from_layer(stream) is on_layer
    with pytest.raises(ValidationError, match="no user message"):
        await anext(stream)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert Counted.opened == 0
    good = pepper.chat.with_user("count").stream()
    assert from_layer(good) is on_layer
    assert [c.content async for c in good] == ["one ", "two ", "three"]
    with pytest.raises(StopAsyncIteration):
        await anext(good)


async def test_nothing_runs_before_the_first_chunk_and_a_failed_stream_is_over() -> None:
    async with app() as pepper:
        await nothing_runs_before_the_first_chunk(pepper, on_layer=False)


async def test_closing_mid_stream_closes_the_provider_and_the_deadline_now() -> None:
    async with app() as pepper:
        stream = pepper.chat.with_user("count").stream()
        assert (await anext(stream)).content == "one "
        assert (Counted.opened, Counted.closed) == (1, 0)
        await stream.aclose()  # type: ignore[attr-defined]
        assert Counted.closed == 1
        assert len(pepper._reliability._deadlines or ()) == 0  # the call left its timer
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        # closed before it started: nothing is ever opened
        unread = pepper.chat.with_user("count").stream()
        await unread.aclose()  # type: ignore[attr-defined]
        with pytest.raises(StopAsyncIteration):
            await anext(unread)
        assert Counted.opened == 1


async def test_one_reader_at_a_time() -> None:
    Counted.before = Counted.pause = 0.05
    async with app() as pepper:
        stream = pepper.chat.with_user("count").stream()
        for expected in ("one ", "two "):  # while the first read waits, and a later one
            read = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.01)
            with pytest.raises(RuntimeError, match="already"):
                await anext(stream)
            assert (await read).content == expected
        assert [c.content async for c in stream] == ["three"]


async def test_the_chats_own_timeout_covers_the_direct_stream() -> None:
    Counted.pause = 5.0
    async with app() as pepper:
        stream = pepper.chat.with_user("count").with_timeout(0.2).stream()
        assert (await anext(stream)).content == "one "
        started = asyncio.get_running_loop().time()
        with pytest.raises(ProviderTimeoutError):
            await anext(stream)
        assert asyncio.get_running_loop().time() - started < 2.0
        assert Counted.closed == 1


# Once the llm layer is built (after a first call), a plain chat's stream is the layer's
# own generator: the same rules hold there.
async def warmed(pepper: PepperPy) -> None:
    await pepper.chat.with_user("warm up").generate()


def from_layer(stream: AsyncIterator[GenerationChunk]) -> bool:
    from pepperpy.reliability.layer import ReliableLLM

    return stream.ag_code is ReliableLLM._stream.__code__  # type: ignore[attr-defined]


async def test_on_the_layer_nothing_runs_before_the_first_chunk() -> None:
    async with app() as pepper:
        await warmed(pepper)
        await nothing_runs_before_the_first_chunk(pepper, on_layer=True)
        assert [c.provider for c in [c async for c in pepper.chat.with_user("c").stream()]
                ] == ["counted"] * 3


async def test_on_the_layer_closing_mid_stream_closes_the_provider_and_the_deadline() -> None:
    async with app() as pepper:
        await warmed(pepper)
        stream = pepper.chat.with_user("count").stream()
        assert from_layer(stream)
        assert (await anext(stream)).content == "one "
        await stream.aclose()  # type: ignore[attr-defined]
        assert (Counted.opened, Counted.closed) == (1, 1)
        assert len(pepper._reliability._deadlines or ()) == 0
        with pytest.raises(StopAsyncIteration):
            await anext(stream)


async def test_on_the_layer_the_chats_own_timeout_covers_the_stream() -> None:
    Counted.pause = 5.0
    async with app() as pepper:
        await warmed(pepper)
        stream = pepper.chat.with_user("count").with_timeout(0.2).stream()
        assert from_layer(stream)
        assert (await anext(stream)).content == "one "
        started = asyncio.get_running_loop().time()
        with pytest.raises(ProviderTimeoutError):
            await anext(stream)
        assert asyncio.get_running_loop().time() - started < 2.0
        assert Counted.closed == 1
