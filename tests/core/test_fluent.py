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
    ProviderError,
    ValidationError,
)
from pepperpy_testing import FakeLLM, fake_registry, tool_call_result


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


# -- review fixes: builder reuse, tool loop edges, history, RAG sources, loops -------


async def test_generate_twice_on_one_builder_sends_the_same_request() -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    replies = [tool_call_result("add", {"a": 1, "b": 2}), "3"]
    async with pepper(replies=replies) as app:
        chat = app.chat.with_user("1+2?").with_tools([add])
        first = await chat.generate()
        second = await chat.generate()
        requests = app._providers["llm"].requests
    assert first.messages == second.messages
    assert [len(m) for m, _ in requests] == [1, 3, 1, 3]  # no tool turn carried over


async def test_async_tool_functions_are_awaited() -> None:
    async def lookup(term: str) -> dict[str, str]:
        """Look a term up."""
        return {"term": term, "meaning": "a fruit"}

    replies = [tool_call_result("lookup", {"term": "pear"}), "A pear is a fruit."]
    async with pepper(replies=replies) as app:
        result = await app.chat.with_user("pear?").with_tools([lookup]).generate()
        tool_message = app._providers["llm"].requests[1][0][-1]
    assert result.content == "A pear is a fruit."
    assert tool_message.content == '{"term": "pear", "meaning": "a fruit"}'


async def test_an_unknown_tool_name_is_answered_with_an_error_the_model_can_read() -> None:
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return "sunny"

    replies = [tool_call_result("get_wether", {"city": "Porto"}), "Sorry, try again later."]
    async with pepper(replies=replies) as app:
        result = await app.chat.with_user("Weather?").with_tools([get_weather]).generate()
        tool_message = app._providers["llm"].requests[1][0][-1]
    assert result.content == "Sorry, try again later."
    assert tool_message.role is MessageRole.TOOL
    assert "no tool named 'get_wether'" in tool_message.content
    assert "available tools: get_weather" in tool_message.content


async def test_a_model_that_never_stops_calling_tools_raises_after_max_rounds() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    async with pepper(replies=[tool_call_result("ping", {})]) as app:
        chat = app.chat.with_user("ping forever").with_tools([ping], max_rounds=2)
        with pytest.raises(ProviderError, match=r"after 2 round.*max_rounds"):
            await chat.generate()
        assert len(app._providers["llm"].requests) == 3


async def test_a_failing_tool_and_bad_arguments_reach_the_model_as_error_results() -> None:
    def broken(city: str) -> str:
        """Always fails."""
        return city + 1  # type: ignore[operator]

    replies = [tool_call_result("broken", {"city": "Porto"}), "could not"]
    async with pepper(replies=replies) as app:
        result = await app.chat.with_user("x").with_tools([broken]).generate()
        failed = app._providers["llm"].requests[1][0][-1]
        app._providers["llm"].replies = [tool_call_result("broken", {"town": "Porto"}), "ok"]
        app._providers["llm"].requests.clear()
        await app.chat.with_user("x").with_tools([broken]).generate()
        mismatch = app._providers["llm"].requests[1][0][-1]
    assert result.content == "could not"
    assert failed.content.startswith("error: tool 'broken' failed: TypeError: can only")
    assert mismatch.content.startswith("error: the arguments for 'broken' do not match")
    assert "'city' is a required property" in mismatch.content


async def test_structured_output_after_a_tool_round_and_with_a_pending_call() -> None:
    from pepperpy import Tool

    def population(city: str) -> int:
        """Population of a city."""
        return 232000

    replies = [
        tool_call_result("population", {"city": "Porto"}),
        '{"name": "Porto", "population": 232000}',
    ]
    async with pepper(replies=replies) as app:
        result = await app.chat.with_user("Porto").with_tools([population]).with_schema(
            City
        ).generate()
    assert result.parsed == City(name="Porto", population=232000)
    pending = Tool("lookup", "Look up", {"type": "object", "properties": {}})
    async with pepper(replies=[tool_call_result("lookup", {})]) as app:
        result = await app.chat.with_user("x").with_tools([pending]).with_schema(City).generate()
    assert result.tool_calls[0].name == "lookup" and result.parsed is None


async def test_history_keeps_turns_but_not_system_prompts() -> None:
    app = pepper(replies=["one", "two"]).with_storage("memory")
    async with app:
        await app.chat.with_system("Be brief.").with_user("a").in_conversation("c").generate()
        await app.chat.with_system("Be brief.").with_user("b").in_conversation("c").generate()
        stored = await app.history("c")
        second = app._providers["llm"].requests[1][0]
    assert [(m.role.value, m.content) for m in stored] == [
        ("user", "a"), ("assistant", "one"), ("user", "b"), ("assistant", "two")
    ]
    assert [m.role.value for m in second] == ["system", "user", "assistant", "user"]


async def test_stream_saves_the_streamed_answer_in_history() -> None:
    app = pepper(replies=["streamed words here"]).with_storage("memory")
    async with app:
        chat = app.chat.with_system("s").with_user("go").in_conversation("s1")
        text = "".join([c.content async for c in chat.stream()])
        stored = await app.history("s1")
    assert [m.content for m in stored] == ["go", text]


def rag_app(**llm_config: object) -> PepperPy:
    return pepper(**llm_config).with_embeddings("hash").with_rag("memory")


async def test_texts_sharing_a_source_keep_it_exactly_and_stay_idempotent() -> None:
    async with rag_app() as app:
        first = await app.rag.add_texts(["cats purr"], source="pets.md")
        both = await app.rag.add_texts(["cats purr", "dogs bark"], source="pets.md")
        await app.rag.add_texts(["owls hoot"], metadata={"source": "birds.md"})
        hits = await app.rag.search("animals", k=5, where={"source": "pets.md"})
        birds = await app.rag.search("owls", k=1)
        count = await app.rag.count()
    assert both[0] == first[0]  # the same text from the same source: the same id
    assert count == 3
    assert sorted(h.document.text for h in hits) == ["cats purr", "dogs bark"]
    assert birds[0].document.metadata["source"] == "birds.md"


async def test_rag_ask_with_no_sources_says_so_without_asking_the_llm() -> None:
    async with rag_app() as app:
        answer = await app.rag.ask("What is the capital of Portugal?")
        requests = app._providers["llm"].requests
    assert answer.sources == [] and answer.result is None
    assert "no sources" in answer.content
    assert requests == []


async def test_ask_with_rag_and_storage_sends_earlier_turns() -> None:
    app = rag_app(replies=["Noted.", "Lisbon."]).with_storage("memory")
    async with app:
        await app.learn(["Lisbon is the capital of Portugal."], source="pt.txt")
        await app.ask("Remember that I like capitals.")
        await app.ask("What is the capital of Portugal?")
        second = app._providers["llm"].requests[1][0]
    assert [m.role.value for m in second] == ["system", "user", "assistant", "user"]
    assert second[1].content == "Remember that I like capitals."
    assert "[1] (pt.txt)" in second[-1].content


async def test_async_with_can_be_entered_again_after_it_closed() -> None:
    FakeLLM.instances.clear()
    app = pepper(replies=["ok"])
    for _ in range(2):
        async with app:
            assert (await app.chat.with_user("x").generate()).content == "ok"
    provider = FakeLLM.instances[-1]
    assert (provider.initialize_calls, provider.cleanup_calls) == (2, 2)


async def test_sync_opened_pepperpy_refuses_async_use_on_another_loop() -> None:
    app = pepper(replies=["ok"])
    with app:
        assert app.chat.with_user("x").generate_sync().content == "ok"
        with pytest.raises(ConfigurationError, match="another event loop"):
            await app.chat.with_user("x").generate()
    async with app:  # closed: the caller's loop may take over
        assert (await app.chat.with_user("x").generate()).content == "ok"


def test_a_sync_call_from_inside_a_tool_fails_clearly_instead_of_deadlocking() -> None:
    app = pepper(replies=[tool_call_result("nested", {}), "done"])

    def nested() -> str:
        """Calls back into PepperPy synchronously."""
        return app.ask_sync("inner").content

    with app:
        with pytest.raises(ConfigurationError, match="would wait for itself"):
            app.chat.with_user("x").with_tools([nested]).generate_sync()


def test_sync_with_keeps_the_body_error_when_cleanup_fails() -> None:
    class BadCleanup(FakeLLM):
        async def cleanup(self) -> None:
            raise RuntimeError("cleanup broke")

    registry = fake_registry()
    registry.register("llm", "bad-cleanup", BadCleanup)
    with pytest.warns(RuntimeWarning, match="cleanup broke"):
        with pytest.raises(ValueError, match="the real problem"):
            with PepperPy(registry=registry).with_llm("bad-cleanup"):
                raise ValueError("the real problem")


def test_a_dropped_sync_pepperpy_stops_its_loop_thread() -> None:
    import gc
    import threading

    def use() -> threading.Thread:
        app = pepper(replies=["ok"])
        app.chat.with_user("x").generate_sync()
        thread = app._sync._thread
        assert thread is not None and thread.is_alive()
        return thread

    thread = use()
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


async def test_history_limit_bounds_what_is_sent_not_what_is_kept() -> None:
    app = PepperPy(registry=fake_registry(), history_limit=2).with_llm("fake", replies=["a"])
    app.with_storage("memory")
    async with app:
        for n in range(3):
            await app.ask(f"q{n}")
        sent = app._providers["llm"].requests[-1][0]
        kept = await app.history()
    assert [m.content for m in sent] == ["q1", "a", "q2"]  # 2 earlier turns + the question
    assert len(kept) == 6
    none_sent = PepperPy(registry=fake_registry(), history_limit=0).with_llm("fake")
    none_sent.with_storage("memory")
    async with none_sent:
        await none_sent.ask("first")
        await none_sent.ask("second")
        assert [m.content for m in none_sent._providers["llm"].requests[-1][0]] == ["second"]


def test_history_limit_must_be_a_count() -> None:
    with pytest.raises(PepperpyError, match="history_limit"):
        PepperPy(history_limit=-1)


async def test_stream_runs_nothing_until_the_first_chunk_is_asked_for() -> None:
    async with pepper() as app:
        stream = app.chat.stream()  # no user message: the error comes with the first chunk
        with pytest.raises(ValidationError, match="no user message"):
            await stream.__anext__()
