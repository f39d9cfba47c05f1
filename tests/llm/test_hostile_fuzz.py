"""Both LLM call paths, which read the wire themselves, fed well-formed answers with one
or two values replaced by a hostile one (null, a list, an object, text, a number, a
huge or fractional number, a bool, NaN, five thousand characters ending with the API key)
or a field removed, anywhere in an event or a body: what reaches the caller is an answer
whose text fields are text, or a ``PepperpyError`` whose message is short and holds no
key, never a bare ``KeyError``/``TypeError``/``AttributeError``/``ValueError`` from
inside the reader.
The answers are the differential tests' own generators, over the real SDKs and the
loopback servers."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.core import PepperpyError
from pepperpy.llm import GenerationOptions, Tool
from pepperpy.openai_compatible.chat import OpenAIChatProvider
from tests.llm.conftest import API_KEY
from tests.llm.test_anthropic_reads_the_wire import _cut, _random_message, _random_stream, _Script
from tests.llm.test_openai_read_wire import HI, _events, _Scripted, _sse

HOSTILE: list[Any] = [None, [], {}, "x", "", 5, -1, 1.5, True, 10**30, [[]], {"a": {}},
                      [1, "a"], float("nan"), "y" * 5000 + API_KEY]
OPTIONS = [GenerationOptions(),
           GenerationOptions(tools=(Tool("lookup", "Look up", {"type": "object"}),))]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, (*at, key))


def _spoil(value: Any, rng: random.Random) -> Any:
    """``value`` with one value replaced by a hostile one, or one field removed."""
    paths = list(_paths(value))
    if not paths:
        return rng.choice(HOSTILE)
    path = rng.choice(paths)
    value = json.loads(json.dumps(value))
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.15:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(HOSTILE)
    return value


async def _only_pepperpy_errors(read: Any) -> None:
    try:
        result = await read()
    except Exception as exc:  # what the caller may see: an answer, or a PepperpyError
        assert isinstance(exc, PepperpyError), repr(exc)
        assert API_KEY not in str(exc) and len(str(exc)) < 600, str(exc)[:200]
        return
    for value in (result.model, result.metadata.get("id")) if result is not None else ():
        assert value is None or value.__class__ is str, repr(value)[:100]


@pytest.mark.parametrize("seed", range(60))
async def test_a_spoiled_openai_stream_is_an_answer_or_a_pepperpy_error(seed: int) -> None:
    rng = random.Random(seed)
    events = _events(rng)
    spoilable = [i for i, (_, payload) in enumerate(events) if not isinstance(payload, str)]
    for i in rng.sample(spoilable, min(len(spoilable), rng.randint(1, 2))):
        events[i] = (events[i][0], _spoil(events[i][1], rng))
    with _Scripted() as server:
        server.stream(_sse(rng, events), rng)
        provider = OpenAIChatProvider(api_key=API_KEY, model="m", base_url=server.url + "/v1")
        await provider.initialize()
        try:
            await _only_pepperpy_errors(lambda: _drain(provider.generate_stream(
                HI, rng.choice(OPTIONS))))
        finally:
            await provider.cleanup()


@pytest.mark.parametrize("seed", range(60))
async def test_a_spoiled_openai_answer_is_an_answer_or_a_pepperpy_error(seed: int) -> None:
    rng = random.Random(seed)
    calls = [{"id": f"call_{i}", "type": "function",
              "function": {"name": "lookup", "arguments": json.dumps({"a": i})}}
             for i in range(rng.randint(0, 2))]
    body = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": "hi", "refusal": None,
                "tool_calls": calls or None}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    with _Scripted() as server:
        server.answer(_spoil(body, rng))
        provider = OpenAIChatProvider(api_key=API_KEY, model="m", base_url=server.url + "/v1")
        await provider.initialize()
        try:
            await _only_pepperpy_errors(lambda: provider.generate(HI, rng.choice(OPTIONS)))
        finally:
            await provider.cleanup()


@pytest.mark.parametrize("seed", range(60))
async def test_a_spoiled_anthropic_stream_is_an_answer_or_a_pepperpy_error(
    make_pepper: Callable[..., PepperPy], seed: int
) -> None:
    rng = random.Random(seed)
    events = _random_stream(rng)
    spoilable = [i for i, (_, payload) in enumerate(events) if isinstance(payload, dict)]
    for i in rng.sample(spoilable, min(len(spoilable), rng.randint(1, 2))):
        events[i] = (events[i][0], _spoil(events[i][1], rng))
    with _Script() as server:
        server.pieces = _cut(events, rng)
        async with make_pepper("anthropic", server).with_retry(attempts=1) as pepper:
            await _only_pepperpy_errors(lambda: _drain(pepper.chat.with_user("hi").stream()))


@pytest.mark.parametrize("seed", range(60))
async def test_a_spoiled_anthropic_answer_is_an_answer_or_a_pepperpy_error(
    make_pepper: Callable[..., PepperPy], seed: int
) -> None:
    rng = random.Random(seed)
    with _Script() as server:
        server.answer = _spoil(_random_message(rng), rng)
        async with make_pepper("anthropic", server).with_retry(attempts=1) as pepper:
            await _only_pepperpy_errors(lambda: pepper.chat.with_user("hi").generate())


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass

