"""Agents through the real SDKs and a real MCP server: a two-step task, a loop stopped
by max_steps, memory across runs in sqlite, and every call counted and traced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pepperpy import PepperPy
from pepperpy.core import ConfigurationError, ValidationError
from tests.toolcalls.conftest import API_KEY, alive

Make = Callable[..., PepperPy]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
async def test_an_agent_solves_a_two_step_task_with_mcp_tools(
    make_pepper: Make, mcp_server: Any, vendor: str
) -> None:
    server = mcp_server()
    exporter = InMemorySpanExporter()
    traces = TracerProvider()
    traces.add_span_processor(SimpleSpanProcessor(exporter))
    pepper = make_pepper(vendor, model="tool-chain").with_tools(
        "mcp", **server.config("lookup,shout")).with_tracing(tracer_provider=traces)
    async with pepper:
        agent = pepper.agent(instructions="Look the word up, then shout it.", max_steps=4)
        result = await agent.run("Shout the meaning of 'text'.")
        usage = pepper.usage.total
    assert result.content == "tool said: MEANING-OF-TEXT"
    assert result.stopped is None and result.model_calls == 3
    assert [(s.name, s.arguments, s.result, s.is_error) for s in result.steps] == [
        ("lookup", {"word": "text"}, "meaning-of-text", False),
        ("shout", {"text": "meaning-of-text"}, "MEANING-OF-TEXT", False),
    ]
    assert usage.requests == 3
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names.count("execute_tool lookup") == names.count("execute_tool shout") == 1
    assert sum(n.startswith("chat ") for n in names) == 3
    (run,) = [s for s in spans if s.name == "invoke_agent"]
    children = [s.name for s in spans if s.parent is not None
                and s.parent.span_id == run.context.span_id]
    assert sorted(children) == sorted(["execute_tool lookup", "execute_tool shout",
                                       "chat tool-chain", "chat tool-chain", "chat tool-chain"])
    assert run.attributes["pepperpy.agent.tool_calls"] == 2
    assert not alive(server.pid)


async def test_agent_stream_shows_text_and_marks_tool_rounds(make_pepper: Make) -> None:
    def lookup(word: str) -> str:
        """Look a word up."""
        return f"meaning-of-{word}"

    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    async with make_pepper(model="tool-chain") as pepper:
        agent = pepper.agent(instructions="Be brief.", tools=[lookup, shout])
        chunks = [c async for c in agent.stream("go")]
    assert "".join(c.content for c in chunks) == (
        "Calling lookup.Calling shout.tool said: MEANING-OF-TEXT")
    assert [c.kind for c in chunks if c.kind != "text"] == [
        "tool_calls", "tool_result", "tool_calls", "tool_result"]


async def test_a_looping_agent_stops_at_max_steps_with_a_clear_result(
    make_pepper: Make, openai_server: Any
) -> None:
    pings: list[str] = []

    def ping() -> str:
        """Ping."""
        pings.append("ping")
        return "pong"

    async with make_pepper(model="tool-loop") as pepper:
        result = await pepper.agent(tools=[ping], max_steps=3).run("ping forever")
        chunks = [c async for c in pepper.agent(tools=[ping], max_steps=2).stream("again")]
    assert result.stopped == "max_steps"
    assert result.content.startswith("stopped after 3 step(s) without a final answer")
    assert "(ping)" in result.content and "raise max_steps" in result.content
    assert result.model_calls == 3 and len(result.steps) == 2
    assert chunks[-1].finish_reason == "max_steps"
    assert chunks[-1].content.startswith("stopped after 2 step(s)")
    assert len(openai_server.requests) == 3 + 2
    assert len(pings) == 2 + 1


async def test_agent_memory_continues_across_runs_in_sqlite(
    make_pepper: Make, tmp_path: Path, openai_server: Any
) -> None:
    def app() -> PepperPy:
        return make_pepper().with_storage("sqlite", path=str(tmp_path / "memory.sqlite3"))

    async with app() as pepper:
        first = await pepper.agent(instructions="Remember.", conversation_id="trip").run(
            "My name is Ada")
    async with app() as pepper:
        second = await pepper.agent(instructions="Remember.", conversation_id="trip").run(
            "What is my name?")
        other = await pepper.agent(conversation_id="other").run("Hello")
        stored = await pepper.history("trip")
    assert first.content == "Echo: My name is Ada"
    assert second.content == "Echo: What is my name?"
    sent = openai_server.requests[1].body["messages"]
    assert [m["content"] for m in sent] == [
        "Remember.", "My name is Ada", "Echo: My name is Ada", "What is my name?"]
    assert [m["content"] for m in openai_server.requests[2].body["messages"]] == ["Hello"]
    assert [m.content for m in stored] == [
        "My name is Ada", "Echo: My name is Ada", "What is my name?", "Echo: What is my name?"]
    assert other.content == "Echo: Hello"


def test_bad_agent_settings_name_the_fix(make_pepper: Make) -> None:
    pepper = make_pepper()
    with pytest.raises(ValidationError, match=r"max_steps=.*>= 1, got 0.*model calls"):
        pepper.agent(max_steps=0)
    with pytest.raises(ValidationError, match="max_tool_calls"):
        pepper.agent(max_tool_calls=-1)
    with pytest.raises(ConfigurationError, match=r"with_storage\('sqlite'\)"):
        pepper.agent(conversation_id="x")
    with pytest.raises(ConfigurationError, match="no llm provider is configured"):
        PepperPy().agent()


async def test_agent_stream_hangs_its_calls_under_one_run_span(make_pepper: Make) -> None:
    """``stream()`` traces like ``run()``: one ``invoke_agent`` span over its model and
    tool calls; a call the consumer makes between two chunks is not one of them."""
    def lookup(word: str) -> str:
        """Look a word up."""
        return f"meaning-of-{word}"

    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    exporter = InMemorySpanExporter()
    traces = TracerProvider()
    traces.add_span_processor(SimpleSpanProcessor(exporter))
    async with make_pepper(model="tool-chain").with_tracing(tracer_provider=traces) as pepper:
        agent = pepper.agent(instructions="Be brief.", tools=[lookup, shout])
        chunks = []
        async for chunk in agent.stream("go"):
            if not chunks:  # the application's own call, made mid-stream
                await pepper.chat.with_model("echo-model").with_user("aside").generate()
            chunks.append(chunk)
    assert "".join(c.content for c in chunks).endswith("tool said: MEANING-OF-TEXT")
    spans = exporter.get_finished_spans()
    (run,) = [s for s in spans if s.name == "invoke_agent"]
    children = sorted(s.name for s in spans if s.parent is not None
                      and s.parent.span_id == run.context.span_id)
    assert children == sorted(["execute_tool lookup", "execute_tool shout",
                               "chat tool-chain", "chat tool-chain", "chat tool-chain"])
    (aside,) = [s for s in spans if s.name == "chat echo-model"]
    assert aside.parent is None
    assert run.attributes["pepperpy.agent.tool_calls"] == 2
    assert run.attributes["pepperpy.agent.model_calls"] == 3


async def test_agent_requests_carry_with_llm_generation_defaults(
    session_plugin_registry: Any, openai_server: Any
) -> None:
    """``with_llm(..., temperature=, max_tokens=)`` reaches an agent's model calls as it
    reaches a chat's."""
    pepper = PepperPy(registry=session_plugin_registry).with_llm(
        "openai", api_key=API_KEY, base_url=openai_server.url + "/v1", model="test-model",
        temperature=0.25, max_tokens=77, seed=5)
    openai_server.requests.clear()
    async with pepper:
        result = await pepper.agent(instructions="Be brief.").run("Hello")
    assert result.content == "Echo: Hello"
    (sent,) = [r.body for r in openai_server.requests if r.path.endswith("/chat/completions")]
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0.25, 77, 5)
    assert sent["model"] == "test-model"
