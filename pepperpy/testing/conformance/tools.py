"""The tools contract, and the shared rules any other category gets.

A tools provider lists ``Tool`` objects with valid names and object schemas and
answers ``call_tool`` with a ``ToolResult``; a failing call is an error result, not an
exception. A category the core does not define has no interface beyond the
lifecycle, so it gets the shared rules (lifecycle, secrets, cancellation).
"""

from __future__ import annotations

import re
from typing import Any

from pepperpy.core import PepperpyError
from pepperpy.testing.conformance._rules import Harness, Rule, describe, rule_list
from pepperpy.testing.conformance.common import shared_rules
from pepperpy.tools import ToolResult

__all__ = ["TOOLS_RULES", "open_category_rules"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def _list(provider: Any) -> Any:
    return await provider.list_tools()


async def _started(provider: Any) -> None:
    provider.require_initialized()


def open_category_rules(category: str) -> tuple[Rule, ...]:
    """The rules of a category the core does not define."""
    return tuple(shared_rules(category, _started))


rules, rule = rule_list()


@rule("tools.list.tools_are_described",
      "list_tools() returns Tool objects, each with a name of [A-Za-z0-9_-]{1,64}, a "
      "description and an object JSON schema for its parameters",
      "build pepperpy.llm.Tool(name, description, parameters) for every tool; models "
      "refuse other names")
async def _described(h: Harness) -> None:
    from pepperpy.llm import Tool

    provider = await h.open()
    tools = await provider.list_tools()
    h.check(isinstance(tools, list) and tools, "list_tools() returned no list of tools")
    for tool in tools:
        h.check(isinstance(tool, Tool), f"a tool is {type(tool).__name__}, not a Tool")
        h.check(bool(_NAME.match(tool.name)), f"tool name {tool.name!r} is not allowed")
        h.check(bool(tool.description), f"tool {tool.name!r} has no description")
        h.check(isinstance(tool.parameters, dict)
                and tool.parameters.get("type", "object") == "object",
                f"tool {tool.name!r}: parameters are not an object schema")


@rule("tools.call.result_or_error_result",
      "call_tool() answers with a ToolResult; an unknown tool is an error result "
      "(is_error=True) or a PepperpyError, never another exception",
      "return ToolResult(text) for success and ToolResult(message, is_error=True) for a "
      "tool's failure; translate the backend's exceptions")
async def _calls(h: Harness) -> None:
    from pepperpy.testing.wire.base import example_for

    provider = await h.open()
    tool = (await provider.list_tools())[0]
    result = await provider.call_tool(tool.name, example_for(tool.parameters))
    h.check(isinstance(result, ToolResult), f"call_tool() returned {type(result).__name__}")
    try:
        missing = await provider.call_tool("no_such_tool_xyz", {})
    except PepperpyError:
        return
    except Exception as exc:
        h.fail(f"calling an unknown tool raised {describe(exc)}")
    h.check(isinstance(missing, ToolResult) and missing.is_error,
            "calling an unknown tool did not give an error result")


TOOLS_RULES = (*shared_rules("tools", _list), *rules)
