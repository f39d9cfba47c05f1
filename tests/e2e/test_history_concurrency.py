"""Conversation history in real sqlite: concurrent turns are all kept, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pepperpy import PepperPy
from pepperpy.registry import ProviderRegistry
from pepperpy_testing import FakeLLM


async def test_concurrent_turns_on_one_conversation_lose_nothing(
    session_plugin_registry: ProviderRegistry, tmp_path: Path
) -> None:
    registry = ProviderRegistry(resolver=session_plugin_registry.resolver)
    registry.register("llm", "fake", FakeLLM)
    app = (
        PepperPy(registry=registry, data_dir=tmp_path, conversation_id="busy")
        .with_llm("fake", replies=[lambda messages, options: "ok " + messages[-1].content])
        .with_storage("sqlite")
    )
    async with app:
        await asyncio.gather(*(app.ask(f"question {n}") for n in range(8)))
        history = await app.history()
    assert len(history) == 16
    questions = [m.content for m in history if m.role.value == "user"]
    assert sorted(questions) == sorted(f"question {n}" for n in range(8))
    for user, answer in zip(history[::2], history[1::2], strict=True):
        assert answer.content == "ok " + user.content  # each exchange stays together
