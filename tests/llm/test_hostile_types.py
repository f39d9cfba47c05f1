"""A hostile or broken server (or a gateway behind ``base_url``) sending values of the
wrong type, which the vendor SDKs pass on unchecked: a text piece that is ``null`` or a
number, usage counts as strings, an anthropic tool input that is not an object. Each
fails the call as a ``ProviderError`` naming what the server sent wrong (so retries,
fallback and the CLI's one clean line apply), never a chunk whose ``content`` is not
text nor a ``TypeError`` further on; the same calls with well-typed values succeed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.core import ProviderError
from pepperpy_testing.wire.anthropic import AnthropicServer
from pepperpy_testing.wire.openai import OpenAIServer
from tests.llm.test_anthropic_hostile_stream import _ToolInputServer
from tests.llm.test_anthropic_reads_the_wire import _Script
from tests.llm.test_openai_read_wire import _Scripted

GOOD_USAGE = (3, 4)


class _Anthropic(AnthropicServer):
    """Answers with ``blocks`` (generate) or text deltas ``pieces`` (stream), and
    ``usage`` as the counts, whatever their types."""

    blocks: list[dict[str, Any]] = []
    pieces: list[Any] = []
    usage: tuple[Any, Any] = GOOD_USAGE

    def _answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self.blocks

    def _usage(self, body: dict[str, Any], blocks: list[Any]) -> dict[str, Any]:
        return {"input_tokens": self.usage[0], "output_tokens": self.usage[1]}

    def _events(self, body: dict[str, Any], blocks: list[dict[str, Any]]) -> Iterator[
        tuple[str, str]
    ]:
        prompt, completion = self.usage
        for payload in (
            {"type": "message_start", "message": {
                "id": "msg_test", "type": "message", "role": "assistant", "content": [],
                "model": "test-model", "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": 1}}},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
            *({"type": "content_block_delta", "index": 0,
               "delta": {"type": "text_delta", "text": p}} for p in self.pieces),
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": completion}},
            {"type": "message_stop"},
        ):
            yield str(payload["type"]), json.dumps(payload)


class _OpenAI(OpenAIServer):
    """Answers with ``content`` (generate) or content deltas ``pieces`` (stream), and
    ``usage`` as the counts, whatever their types."""

    content: Any = "Hi"
    pieces: list[Any] = []
    usage: tuple[Any, Any] = GOOD_USAGE

    calls: list[dict[str, Any]] = []

    def _answer(self, body: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
        return self.content, self.calls

    def _usage(self, body: dict[str, Any], content: Any, calls: list[Any]) -> dict[str, Any]:
        return {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1],
                "total_tokens": 7}

    def _chunks(self, body: dict[str, Any], content: Any, calls: list[Any]) -> Iterator[str]:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1,
                "model": "test-model"}
        for delta, finish in ([({"role": "assistant", "content": ""}, None)]
                              + [({"content": p}, None) for p in self.pieces]
                              + [({}, "stop")]):
            yield json.dumps({**base, "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})
        yield json.dumps({**base, "choices": [], "usage": self._usage(body, content, calls)})
        yield "[DONE]"


async def _refused(pepper: PepperPy, stream: bool, match: str, vendor: str) -> None:
    chat = pepper.chat.with_user("hi")
    with pytest.raises(ProviderError, match=match) as caught:
        if stream:
            [c async for c in chat.stream()]
        else:
            await chat.generate()
    assert caught.value.provider == vendor


async def _tool_calls(pepper: PepperPy) -> list[tuple[str, dict[str, Any]]]:
    async with pepper:
        result = await pepper.chat.with_user("hi").generate()
    return [(c.name, c.arguments) for c in result.tool_calls]


BAD_TEXT = [pytest.param(None, id="null"), pytest.param(5, id="number")]
# Not "3": the SDKs turn a string of digits into a number when the body validates.
BAD_USAGE = [pytest.param(("three", 4), id="prompt-string"),
             pytest.param((3, "4 tokens"), id="completion-string"),
             pytest.param((3, 4.5), id="completion-fraction")]


@pytest.mark.parametrize("bad", BAD_TEXT)
async def test_anthropic_a_streamed_text_piece_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy], bad: Any
) -> None:
    server = _Anthropic()
    with server:
        server.pieces = ["Hi", bad]
        async with make_pepper("anthropic", server) as pepper:
            await _refused(pepper, True, "streamed a text piece that is not text", "anthropic")
        server.pieces = ["Hi", " there"]
        async with make_pepper("anthropic", server) as pepper:
            chunks = [c async for c in pepper.chat.with_user("hi").stream()]
        assert "".join(c.content for c in chunks) == "Hi there"


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
@pytest.mark.parametrize("usage", BAD_USAGE)
@pytest.mark.parametrize("vendor", ["anthropic", "openai"])
async def test_usage_counts_that_are_not_integers_are_a_provider_error(
    make_pepper: Callable[..., PepperPy], vendor: str, usage: tuple[Any, Any], stream: bool
) -> None:
    server: _Anthropic | _OpenAI = _Anthropic() if vendor == "anthropic" else _OpenAI()
    if isinstance(server, _Anthropic):
        server.blocks = [{"type": "text", "text": "Hi"}]
    server.pieces, server.usage = ["Hi"], usage
    with server:
        async with make_pepper(vendor, server) as pepper:
            await _refused(pepper, stream, "usage counts that are not whole numbers", vendor)
        server.usage = GOOD_USAGE
        async with make_pepper(vendor, server) as pepper:
            if stream:
                last = [c async for c in pepper.chat.with_user("hi").stream()][-1]
                assert last.usage is not None
                assert last.usage.total_tokens == 7
            else:
                assert (await pepper.chat.with_user("hi").generate()).usage.total_tokens == 7


@pytest.mark.parametrize("bad", [pytest.param(["a", 1], id="list"),
                                 pytest.param("city=Paris", id="string"),
                                 pytest.param(5, id="number")])
async def test_anthropic_generate_a_tool_input_that_is_not_an_object_is_a_provider_error(
    make_pepper: Callable[..., PepperPy], bad: Any
) -> None:
    server = _Anthropic()
    use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": bad}
    server.blocks = [use]
    with server:
        async with make_pepper("anthropic", server) as pepper:
            await _refused(pepper, False, "input for tool 'lookup' that is not an object",
                           "anthropic")
        use["input"] = {"city": "Paris"}
        assert await _tool_calls(make_pepper("anthropic", server)) == [
            ("lookup", {"city": "Paris"})]


async def test_anthropic_generate_a_text_block_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    server = _Anthropic()
    server.blocks = [{"type": "text", "text": 5}]
    with server:
        async with make_pepper("anthropic", server) as pepper:
            await _refused(pepper, False, "a text block that is not text", "anthropic")


async def test_openai_a_streamed_text_piece_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    server = _OpenAI()
    with server:
        server.pieces = ["Hi", 5]
        async with make_pepper("openai", server) as pepper:
            await _refused(pepper, True, "streamed a text piece that is not text", "openai")
        server.pieces = ["Hi", None, " there"]  # null: a piece without text, as usual
        async with make_pepper("openai", server) as pepper:
            chunks = [c async for c in pepper.chat.with_user("hi").stream()]
        assert "".join(c.content for c in chunks) == "Hi there"


async def test_openai_generate_content_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    server = _OpenAI()
    server.content = 5
    with server:
        async with make_pepper("openai", server) as pepper:
            await _refused(pepper, False, "content that is not text", "openai")


async def test_anthropic_a_streamed_structured_piece_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    """Structured output streams the forced tool's JSON pieces as text: a piece that is
    not text fails there, before it reaches the caller as a chunk."""
    server = _ToolInputServer()
    server.pieces = ['{"city": ', 5]
    schema = {"title": "lookup", "type": "object", "properties": {"city": {"type": "string"}}}
    with server:
        seen: list[Any] = []
        async with make_pepper("anthropic", server) as pepper:
            with pytest.raises(ProviderError, match="streamed a text piece that is not text"):
                async for chunk in pepper.chat.with_user("city?").with_schema(schema).stream():
                    seen.append(chunk.content)
        assert seen == ['{"city": ']
        server.pieces = ['{"city": ', '"Paris"}']
        async with make_pepper("anthropic", server) as pepper:
            chunks = [c async for c in pepper.chat.with_user("city?").with_schema(schema).stream()]
        assert "".join(c.content for c in chunks) == '{"city": "Paris"}'


async def test_openai_generate_tool_arguments_that_are_not_text_are_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    server = _OpenAI()
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": 5}}
    server.content, server.calls = None, [call]
    with server:
        async with make_pepper("openai", server) as pepper:
            await _refused(pepper, False, "arguments for tool 'lookup' that are not JSON",
                           "openai")
        call["function"]["arguments"] = '{"city": "Paris"}'
        assert await _tool_calls(make_pepper("openai", server)) == [
            ("lookup", {"city": "Paris"})]


def _answer(vendor: str) -> dict[str, Any]:
    """A well-formed generated answer, as each vendor's API writes it."""
    if vendor == "anthropic":
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 4}}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Hi"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}


def _answering(vendor: str, body: dict[str, Any]) -> _Script | _Scripted:
    if vendor == "anthropic":
        script = _Script()
        script.answer = body
        return script
    scripted = _Scripted()
    scripted.answer(body)
    return scripted


@pytest.mark.parametrize("bad", [pytest.param(5, id="number"), pytest.param(["m"], id="list"),
                                 pytest.param({"name": "m"}, id="object"),
                                 pytest.param(True, id="bool")])
@pytest.mark.parametrize("field", ["model", "id"])
@pytest.mark.parametrize("vendor", ["anthropic", "openai"])
async def test_a_model_or_id_that_is_not_text_is_a_provider_error_naming_it(
    make_pepper: Callable[..., PepperPy], vendor: str, field: str, bad: Any
) -> None:
    """The SDKs' objects passed a number or a list there on unchecked, into the answer's
    ``model`` (and the span) or ``metadata["id"]``."""
    body = _answer(vendor)
    body[field] = bad
    with _answering(vendor, body) as server:
        async with make_pepper(vendor, server) as pepper:
            await _refused(pepper, False, f"sent an? {field} that is not text "
                           f"\\({type(bad).__name__}\\)", vendor)


@pytest.mark.parametrize("absent", ["missing", "null"])
@pytest.mark.parametrize("field", ["model", "id"])
@pytest.mark.parametrize("vendor", ["anthropic", "openai"])
async def test_a_missing_or_null_model_or_id_reads_as_none(
    make_pepper: Callable[..., PepperPy], vendor: str, field: str, absent: str
) -> None:
    """As the SDKs' objects read it (``None``), and as before: a gateway that leaves it
    out still answers. A missing model reads as the one the request named (the layer
    fills it in, for every provider)."""
    body = _answer(vendor)
    if absent == "missing":
        del body[field]
    else:
        body[field] = None
    with _answering(vendor, body) as server:
        async with make_pepper(vendor, server) as pepper:
            result = await pepper.chat.with_user("hi").generate()
    assert result.content == "Hi"
    read = {"model": result.model, "id": result.metadata["id"]}
    assert read[field] == ("test-model" if field == "model" else None)
    other = "id" if field == "model" else "model"
    assert read[other] == _answer(vendor)[other]


async def test_openai_a_refusal_that_is_not_text_is_a_provider_error(
    make_pepper: Callable[..., PepperPy]
) -> None:
    body = _answer("openai")
    body["choices"][0]["message"]["refusal"] = {"reason": "no"}
    with _answering("openai", body) as server:
        async with make_pepper("openai", server) as pepper:
            await _refused(pepper, False, r"sent a refusal that is not text \(dict\)", "openai")
        body["choices"][0]["message"]["refusal"] = "I cannot help with that."
        server.answer(body)  # type: ignore[union-attr]
        async with make_pepper("openai", server) as pepper:
            result = await pepper.chat.with_user("hi").generate()
    assert result.metadata["refusal"] == "I cannot help with that."
