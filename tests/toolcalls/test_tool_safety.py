"""The rules every tool call obeys (pepperpy.tools.ToolRunner), with a scripted model:
the schema is checked before the call, results are size-bounded, calls are budgeted."""

from __future__ import annotations

from pepperpy import GenerationResult, PepperPy, ToolCall
from pepperpy_testing import FakeLLM, fake_registry, tool_call_result


def pepper(replies: list[object]) -> PepperPy:
    return PepperPy(registry=fake_registry()).with_llm("fake", replies=replies)


def sent(app: PepperPy, request: int) -> list[object]:
    llm = app._providers["llm"]
    assert isinstance(llm, FakeLLM)
    return llm.requests[request][0]


async def test_arguments_are_checked_against_the_schema_before_the_tool_runs() -> None:
    ran: list[object] = []

    def count(n: int) -> str:
        """Count to n."""
        ran.append(n)
        return "ok"

    async with pepper([tool_call_result("count", {"n": "three"}), "done"]) as app:
        result = await app.chat.with_user("x").with_tools([count]).generate()
        message = sent(app, 1)[-1]
    assert ran == []  # never called with a string where the schema says integer
    assert message.content.startswith("error: the arguments for 'count' do not match its "
                                      "schema: n: 'three' is not of type 'integer'")
    assert result.content == "done"


async def test_a_huge_tool_result_is_cut_before_it_reenters_the_prompt() -> None:
    def dump() -> str:
        """Dump everything."""
        return "x" * 50_000

    async with pepper([tool_call_result("dump", {}), "done"]) as app:
        await app.chat.with_user("x").with_tools([dump]).generate()
        message = sent(app, 1)[-1]
    assert len(message.content) < 16_200
    assert message.content.startswith("x" * 16_000)
    assert message.content.endswith("[cut: the tool returned 50000 characters; the first "
                                    "16000 are shown]")


async def test_an_error_result_repeating_the_models_arguments_is_cut_too() -> None:
    """A schema mismatch quotes the value, a signature mismatch names the keyword, a tool's
    exception may repeat its input: each is the model's text (a prompt-injected one can
    send a megabyte), and goes back into the prompt cut as a result is."""
    huge = "y" * 50_000

    def count(n: int) -> str:
        """Count to n."""
        return "ok"

    def echo(text: str) -> str:
        """Echo."""
        raise ValueError(f"cannot echo {text}")

    replies: list[object] = [tool_call_result("count", {"n": huge}),
                             tool_call_result("count", {"n": 1, huge: 1}),
                             tool_call_result("echo", {"text": huge}), "done"]
    async with pepper(replies) as app:
        await app.chat.with_user("x").with_tools([count, echo]).generate()
        answers = [sent(app, i)[-1] for i in (1, 2, 3)]
    for message in answers:
        assert message.content.startswith("error: "), message.content[:80]
        assert len(message.content) < 16_200, len(message.content)
        assert message.content.endswith("16000 are shown]")


async def test_calls_past_max_tool_calls_are_answered_with_an_error_not_run() -> None:
    ran: list[int] = []

    def tick(i: int) -> str:
        """Tick."""
        ran.append(i)
        return f"tick {i}"

    three = GenerationResult("", tool_calls=tuple(
        ToolCall(f"c{i}", "tick", {"i": i}) for i in range(3)), finish_reason="tool_calls")
    async with pepper([three, "done"]) as app:
        chat = app.chat.with_user("x").with_tools([tick], max_tool_calls=2)
        result = await chat.generate()
        answers = [m.content for m in sent(app, 1)[-3:]]
    assert ran == [0, 1]
    assert answers[:2] == ["tick 0", "tick 1"]
    assert answers[2] == ("error: the budget of 2 tool call(s) for this run is spent; "
                          "answer with what you have")
    assert result.content == "done"


async def test_two_functions_of_one_name_are_refused_naming_the_fix() -> None:
    import pytest

    from pepperpy.core import ConfigurationError
    from pepperpy.llm import Tool

    def lookup(word: str) -> str:
        """Look up."""
        return word

    other = Tool("lookup", "Another lookup.", {"type": "object", "properties": {}})
    async with pepper(["never"]) as app:
        with pytest.raises(ConfigurationError, match=r"two tools are named 'lookup' \(from a "
                           "Python function and a Tool without a function\\).*rename"):
            await app.chat.with_user("x").with_tools([lookup, other]).generate()
        assert sent_count(app) == 0


def sent_count(app: PepperPy) -> int:
    llm = app._providers["llm"]
    assert isinstance(llm, FakeLLM)
    return len(llm.requests)
