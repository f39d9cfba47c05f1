"""The MCP tools plugin against real MCP servers: tools offered to the model, failures
as tool results, deadlines, and no server process left behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from pepperpy import PepperPy
from pepperpy.core import (
    ConfigurationError,
    ProviderError,
    ProviderTimeoutError,
    ValidationError,
)
from tests.toolcalls.conftest import MCP_TOKEN, alive

Make = Callable[..., PepperPy]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
async def test_an_mcp_servers_tools_are_offered_and_run_in_chats(
    make_pepper: Make, mcp_server: Any, vendor: str
) -> None:
    server = mcp_server()
    async with make_pepper(vendor).with_tools("mcp", **server.config("lookup,shout")) as pepper:
        listed = await pepper.tools.list()
        direct = await pepper.tools.call("lookup", {"word": "pepper"})
        result = await pepper.chat.with_user("define it").generate()
        chunks = [c async for c in pepper.chat.with_user("define it").stream()]
        pid = server.pid
        assert alive(pid)
    assert [(t.name, t.parameters["required"]) for t in listed] == [
        ("lookup", ["word"]), ("shout", ["text"])]
    assert listed[0].description == "Look a word up in the dictionary."
    assert (direct.content, direct.is_error) == ("meaning-of-pepper", False)
    assert result.content == "tool said: meaning-of-text"
    assert "".join(c.content for c in chunks) == "tool said: meaning-of-text"
    assert not alive(pid)


async def test_a_failing_tool_reaches_the_model_as_an_error_result(
    make_pepper: Make, mcp_server: Any, openai_server: Any
) -> None:
    server = mcp_server()
    config = server.config("lookup,broken")
    async with make_pepper(model="tool-chain").with_tools("mcp", **config) as pepper:
        result = await pepper.chat.with_user("go").generate()
    tool_turns = [m for m in openai_server.last().body["messages"] if m["role"] == "tool"]
    assert tool_turns[0]["content"] == "meaning-of-text"
    assert "the dictionary is closed (asked for meaning-of-text)" in tool_turns[1]["content"]
    assert result.content.startswith("tool said: ")
    assert "dictionary is closed" in result.content
    assert not alive(server.pid)


async def test_the_deadline_stops_a_slow_tool_and_the_server(
    make_pepper: Make, mcp_server: Any
) -> None:
    server = mcp_server()
    async with make_pepper().with_tools("mcp", **server.config("slow")) as pepper:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError, match=r"tool 'slow'.*1 s deadline"):
            await pepper.chat.with_user("go").with_timeout(1).generate()
        assert time.monotonic() - started < 5
    assert not alive(server.pid)


async def test_a_tool_timeout_is_an_error_result_the_model_reads(
    make_pepper: Make, mcp_server: Any
) -> None:
    server = mcp_server()
    async with make_pepper().with_tools("mcp", timeout=0.5, **server.config("slow")) as pepper:
        result = await pepper.chat.with_user("go").generate()
    assert result.content == "tool said: error: tool 'slow' did not finish within its 0.5 s timeout"
    assert not alive(server.pid)


async def test_the_server_is_stopped_when_the_caller_cancels(
    make_pepper: Make, mcp_server: Any
) -> None:
    server = mcp_server()
    calling = asyncio.Event()

    async def run() -> None:
        async with make_pepper().with_tools("mcp", **server.config("slow")) as pepper:
            calling.set()
            await pepper.tools.call("slow", {})

    task = asyncio.ensure_future(run())
    await asyncio.wait_for(calling.wait(), 30)
    await asyncio.sleep(0.3)
    pid = server.pid
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not alive(pid)


async def test_a_streamable_http_server(make_pepper: Make, http_mcp_server: str) -> None:
    async with make_pepper().with_tools("mcp", url=http_mcp_server) as pepper:
        names = [t.name for t in await pepper.tools.list()]
        shouted = await pepper.tools.call("shout", {"text": "hi"})
        result = await pepper.chat.with_user("go").generate()
    assert names == ["lookup", "shout"]
    assert shouted.content == "HI"
    assert result.content == "tool said: meaning-of-text"


async def test_headers_reach_a_streamable_http_server_and_stay_secret(
    make_pepper: Make, token_mcp_server: str
) -> None:
    headers = {"Authorization": f"Bearer {MCP_TOKEN}"}
    pepper = make_pepper().with_tools("mcp", url=token_mcp_server, headers=headers)
    async with pepper:
        assert (await pepper.tools.call("shout", {"text": "hi"})).content == "HI"
    shown = "".join(repr(p) for p in pepper._providers.values())
    assert "headers" in shown and MCP_TOKEN not in shown
    without = make_pepper().with_tools("mcp", url=token_mcp_server, start_timeout=10)
    with pytest.raises(ProviderError, match=r"refused the connection \(HTTP 401\): .*headers="):
        async with without:
            await without.tools.list()


def test_bad_headers_name_the_fix(make_pepper: Make) -> None:
    cases = [({"command": ["python", "s.py"], "headers": {"A": "b"}}, "stdio server takes env="),
             ({"url": "http://127.0.0.1:1/mcp", "headers": {"A": "b\r\nX-Evil: 1"}},
              "one-line string"),
             ({"url": "http://127.0.0.1:1/mcp", "headers": {"Bad Name": "v"}},
              "not an HTTP header name")]
    for config, message in cases:
        with pytest.raises(ValidationError, match=message):
            make_pepper().with_tools("mcp", **config)


async def test_two_servers_with_clashing_names_are_refused_unless_prefixed(
    make_pepper: Make, mcp_server: Any
) -> None:
    first, second = mcp_server(), mcp_server()
    pepper = make_pepper().with_tools("mcp", **first.config()).with_tools(
        "mcp", **second.config())
    async with pepper:
        with pytest.raises(ConfigurationError, match=r"two tools are named 'lookup'.*prefix="):
            await pepper.chat.with_user("go").generate()
    assert not alive(first.pid) and not alive(second.pid)
    third, fourth = mcp_server(), mcp_server()
    pepper = make_pepper().with_tools("mcp", **third.config()).with_tools(
        "mcp", prefix="backup_", **fourth.config())
    async with pepper:
        names = [t.name for t in await pepper.tools.list()]
        assert (await pepper.tools.call("backup_lookup", {"word": "w"})).content == (
            "meaning-of-w")
    assert names == ["lookup", "backup_lookup"]


async def test_arguments_that_do_not_match_the_schema_are_refused_before_the_call(
    make_pepper: Make, mcp_server: Any
) -> None:
    server = mcp_server()
    async with make_pepper().with_tools("mcp", **server.config()) as pepper:
        with pytest.raises(ValidationError, match="'word' is a required property"):
            await pepper.tools.call("lookup", {"term": "x"})
        with pytest.raises(ValidationError, match=r"no tool named 'lookp'.*lookup"):
            await pepper.tools.call("lookp", {})


@pytest.mark.parametrize(("mode", "message"), [
    ("exit", "stderr ends: fatal: the dictionary database is missing"),
    ("garbage", "a line to stdout that is not an MCP message"),
])
async def test_a_server_that_fails_at_start_is_a_clear_error_and_leaves_nothing(
    make_pepper: Make, mcp_server: Any, mode: str, message: str
) -> None:
    server = mcp_server()
    pepper = make_pepper().with_tools("mcp", start_timeout=20, **server.config(mode=mode))
    started = time.monotonic()
    with pytest.raises(ProviderError, match=message) as info:
        async with pepper:
            pass
    assert "check that the command runs an MCP server" in str(info.value)
    assert time.monotonic() - started < 15
    assert not alive(server.pid)


async def test_a_server_that_never_answers_times_out_and_is_stopped(
    make_pepper: Make, mcp_server: Any
) -> None:
    server = mcp_server()
    pepper = make_pepper().with_tools("mcp", start_timeout=1, **server.config(mode="hang"))
    started = time.monotonic()

    async def start() -> None:
        async with pepper:
            pass

    with pytest.raises(ProviderError, match="did not answer the MCP handshake within 1 s"):
        await asyncio.wait_for(start(), 30)  # a stuck stop would hang here, not forever
    assert time.monotonic() - started < 10
    assert not alive(server.pid)


def test_a_missing_program_and_bad_options_name_the_fix(make_pepper: Make) -> None:
    with pytest.raises(ValidationError, match="exactly one of command"):
        make_pepper().with_tools("mcp")
    with pytest.raises(ValidationError, match="non-empty strings"):
        make_pepper().with_tools("mcp", command=["python", ""])
    with pytest.raises(ValidationError, match="string values"):
        make_pepper().with_tools("mcp", command=["x"], env={"N": 1})
    with pytest.raises(ValidationError, match="prefix"):
        make_pepper().with_tools("mcp", prefix="a b", command=["x"])

    async def start() -> None:
        async with make_pepper().with_tools("mcp", command=["/nonexistent/mcp-server"]):
            pass

    with pytest.raises(ProviderError, match="could not be started"):
        asyncio.run(start())


def test_the_mcp_plugin_passes_the_tools_rules(
    session_plugin_registry: Any, mcp_server: Any
) -> None:
    from pepperpy_testing.conformance import Subject, run_rules

    server = mcp_server()

    def create(config: dict[str, Any]) -> Any:
        return session_plugin_registry.create("tools", "mcp", config)

    report = run_rules(Subject("tools", create, lambda _: server.config("shout,lookup")))
    assert report.ok, [o.detail for o in report.failed]
    assert {o.rule.id for o in report.outcomes if o.status == "passed"} >= {
        "tools.list.tools_are_described", "tools.call.result_or_error_result",
        "tools.cancel.usable_after_cancel", "tools.lifecycle.initialize_then_cleanup"}
    assert not alive(server.pid)


def test_sync_use_starts_and_stops_the_server_too(make_pepper: Make, mcp_server: Any) -> None:
    server = mcp_server()
    with make_pepper(model="tool-chain").with_tools("mcp", **server.config("lookup,shout")) as (
            pepper):
        answer = pepper.chat.with_user("go").generate_sync()
        result = pepper.agent(max_steps=4).run_sync("go")
        assert alive(server.pid)
    assert answer.content == result.content == "tool said: MEANING-OF-TEXT"
    assert not alive(server.pid)
