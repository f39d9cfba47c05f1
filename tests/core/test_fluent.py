"""The fluent API end to end on in-process providers registered through the registry."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from pepperpy import (
    ConfigurationError,
    GenerationResult,
    Message,
    MessageRole,
    PepperPy,
    PepperpyError,
)
from pepperpy.testing import FakeLLM, fake_registry, tool_call_result


def pepper(**llm_config: object) -> PepperPy:
    return PepperPy(registry=fake_registry()).with_llm("fake", **llm_config)


async def test_chat_generate_sends_messages_and_options() -> None:
    async with pepper(replies=["Python is a language."]) as app:
        result = await (
            app.chat.with_system("Be brief.")
            .with_user("Tell me about Python.")
            .with_model("m1")
            .with_temperature(0.3)
            .with_max_tokens(20)
            .generate()
        )
        provider = app._providers["llm"]
    assert result.content == "Python is a language."
    messages, options = provider.requests[0]
    assert [m.role for m in messages] == [MessageRole.SYSTEM, MessageRole.USER]
    assert (options.model, options.temperature, options.max_tokens) == ("m1", 0.3, 20)
    assert result.messages[-1] == Message(MessageRole.ASSISTANT, "Python is a language.")
    assert result.usage is not None and result.usage.completion_tokens == 4


async def test_chat_stream_yields_chunks_in_order() -> None:
    async with pepper(replies=["one two three"]) as app:
        chunks = [c async for c in app.chat.with_user("count").stream()]
    assert len(chunks) == 3
    assert "".join(c.content for c in chunks) == "one two three"
    assert chunks[-1].finish_reason == "stop"


async def test_tools_are_run_and_answered() -> None:
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return "sunny"

    replies = [tool_call_result("get_weather", {"city": "Lisbon"}), "It is sunny in Lisbon."]
    async with pepper(replies=replies) as app:
        result = await app.chat.with_user("Weather?").with_tools([get_weather]).generate()
        provider = app._providers["llm"]
    assert calls == ["Lisbon"]
    assert result.content == "It is sunny in Lisbon."
    second_messages, options = provider.requests[1]
    assert options.tools[0].name == "get_weather"
    assert options.tools[0].parameters["properties"] == {"city": {"type": "string"}}
    tool_message = second_messages[-1]
    assert tool_message.role is MessageRole.TOOL and tool_message.content == "sunny"
    assert tool_message.tool_call_id == "call_1"


async def test_tool_without_function_is_returned_to_the_caller() -> None:
    from pepperpy import Tool

    tool = Tool("lookup", "Look something up", {"type": "object", "properties": {}})
    async with pepper(replies=[tool_call_result("lookup", {})]) as app:
        result = await app.chat.with_user("x").with_tools([tool]).generate()
    assert result.tool_calls[0].name == "lookup"


class City(pydantic.BaseModel):
    name: str
    population: int


async def test_structured_output_with_pydantic_model() -> None:
    async with pepper(replies=['{"name": "Porto", "population": 232000}']) as app:
        result = await app.chat.with_user("A city").with_schema(City).generate()
        options = app._providers["llm"].requests[0][1]
    assert result.parsed == City(name="Porto", population=232000)
    assert options.response_format.name == "City"
    assert options.response_format.schema["required"] == ["name", "population"]


async def test_structured_output_with_json_schema_refuses_mismatch() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with pepper(replies=['{"n": 3}', '{"n": "three"}']) as app:
        ok = await app.chat.with_user("n?").with_schema(schema).generate()
        assert ok.parsed == {"n": 3}
        with pytest.raises(PepperpyError, match="does not match the schema"):
            await app.chat.with_user("n?").with_schema(schema).generate()


async def test_rag_add_search_ask_cites_sources() -> None:
    app = (
        PepperPy(registry=fake_registry())
        .with_llm("fake", replies=[lambda msgs, opts: msgs[-1].content])
        .with_embeddings("hash")
        .with_rag("memory")
    )
    async with app:
        await app.rag.add_texts(["Lisbon is the capital of Portugal."], source="pt.txt")
        await app.rag.add_texts(["Bananas are rich in potassium."], source="fruit.txt")
        hits = await app.rag.search("capital of Portugal", k=1)
        answer = await app.rag.ask("What is the capital of Portugal?", k=1)
    assert hits[0].document.metadata["source"] == "pt.txt"
    assert 0 < hits[0].score <= 1
    assert answer.sources[0].document.metadata["source"] == "pt.txt"
    assert "[1] (pt.txt) Lisbon" in answer.content  # the fake echoes its prompt


async def test_learn_is_idempotent_and_does_not_re_embed() -> None:
    app = PepperPy(registry=fake_registry()).with_embeddings("hash").with_rag("memory")
    async with app:
        first = await app.learn(["alpha beta", "gamma delta"])
        second = await app.learn(["alpha beta", "gamma delta"])
        assert first == second
        assert await app.rag.count() == 2


async def test_metadata_filter() -> None:
    app = PepperPy(registry=fake_registry()).with_embeddings("hash").with_rag("memory")
    async with app:
        await app.rag.add_texts(["cats purr"], metadata={"lang": "en"}, source="a")
        await app.rag.add_texts(["cats purr loudly"], metadata={"lang": "xx"}, source="b")
        hits = await app.rag.search("cats", where={"lang": "xx"})
    assert [h.document.metadata["source"] for h in hits] == ["b"]


async def test_history_is_kept_in_storage() -> None:
    app = PepperPy(registry=fake_registry(), conversation_id="c1").with_llm(
        "fake", replies=["Hi Ana.", "Your name is Ana."]
    )
    app.with_storage("memory")
    async with app:
        await app.ask("My name is Ana.")
        await app.ask("What is my name?")
        stored = await app.history()
        second_request = app._providers["llm"].requests[1][0]
    assert [m.content for m in stored] == [
        "My name is Ana.", "Hi Ana.", "What is my name?", "Your name is Ana."
    ]
    assert [m.content for m in second_request][:2] == ["My name is Ana.", "Hi Ana."]


async def test_ask_without_rag_is_plain_chat() -> None:
    async with pepper(replies=["42"]) as app:
        answer = await app.ask("meaning?")
    assert answer.content == "42" and answer.sources == []


async def test_lifecycle_initializes_and_cleans_up_once() -> None:
    FakeLLM.instances.clear()
    app = pepper()
    async with app:
        await app.chat.with_user("a").generate()
        await app.chat.with_user("b").generate()
    provider = FakeLLM.instances[-1]
    assert (provider.initialize_calls, provider.cleanup_calls) == (1, 1)


async def test_cleanup_runs_when_the_body_raises() -> None:
    FakeLLM.instances.clear()
    app = pepper().with_storage("memory")
    with pytest.raises(RuntimeError, match="boom"):
        async with app:
            raise RuntimeError("boom")
    assert FakeLLM.instances[-1].cleanup_calls == 1
    assert app._ready == {}


async def test_failed_initialize_cleans_up_the_others() -> None:
    class Broken(FakeLLM):
        async def initialize(self) -> None:
            raise ConfigurationError("cannot start")

    registry = fake_registry()
    registry.register("llm", "broken", Broken)
    app = PepperPy(registry=registry).with_storage("memory").with_llm("broken")
    with pytest.raises(ConfigurationError, match="cannot start"):
        async with app:
            pass
    assert app._ready == {}


def test_sync_generate_outside_a_loop() -> None:
    app = pepper(replies=["sync ok"])
    with app:
        assert app.chat.with_user("hi").generate_sync().content == "sync ok"
        assert app.ask_sync("again").content == "sync ok"


async def test_sync_generate_inside_a_running_loop() -> None:
    app = pepper(replies=["inside"])
    try:
        result = app.chat.with_user("hi").generate_sync()
    finally:
        app.close_sync()
    assert result.content == "inside"


async def test_sync_and_async_parity() -> None:
    async_app = pepper(replies=["same answer"])
    async with async_app:
        async_result = await async_app.chat.with_user("q").with_max_tokens(5).generate()
    sync_app = pepper(replies=["same answer"])
    sync_result = await asyncio.to_thread(
        lambda: sync_app.chat.with_user("q").with_max_tokens(5).generate_sync()
    )
    sync_app.close_sync()
    assert isinstance(sync_result, GenerationResult)
    assert (sync_result.content, sync_result.messages) == (
        async_result.content,
        async_result.messages,
    )


async def test_storage_accessor_puts_and_lists_json_documents() -> None:
    app = PepperPy(registry=fake_registry()).with_storage("memory")
    async with app:
        await app.storage.put("notes", "a1", {"text": "hello", "tags": ["x"]})
        await app.storage.put("notes", "b1", [1, 2])
        assert await app.storage.get("notes", "a1") == {"text": "hello", "tags": ["x"]}
        assert await app.storage.list("notes", prefix="a") == ["a1"]
        assert await app.storage.delete("notes", "a1") is True
        assert await app.storage.get("notes", "a1") is None


async def test_a_failing_cleanup_does_not_mask_the_body_error() -> None:
    class BadCleanup(FakeLLM):
        async def cleanup(self) -> None:
            raise RuntimeError("cleanup broke")

    registry = fake_registry()
    registry.register("llm", "bad-cleanup", BadCleanup)
    app = PepperPy(registry=registry).with_llm("bad-cleanup").with_storage("memory")
    with pytest.warns(RuntimeWarning, match="cleanup broke"):
        with pytest.raises(ValueError, match="the real problem"):
            async with app:
                raise ValueError("the real problem")
    assert app._ready == {}
    app2 = PepperPy(registry=registry).with_llm("bad-cleanup")
    with pytest.raises(RuntimeError, match="cleanup broke"):
        async with app2:
            pass
