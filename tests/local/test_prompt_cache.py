"""The local LLM keeps llama.cpp's prompt cache between calls, and no answer changes.

Two providers on the same model and seed at temperature 0: one keeps the KV cache
(the default), one starts every call from an empty cache (``prompt_cache=False``).
They must write the same text over a multi-turn conversation and over RAG questions
sharing a system prompt, while llama.cpp's own counters show the cached one
evaluating fewer tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from pepperpy import Message, MessageRole, PepperPy
from pepperpy.rag_builder import DEFAULT_PROMPT
from pepperpy.registry import ProviderRegistry

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
TURNS = [
    "My name is Ada and I keep bees.",
    "What is my name?",
    "What animals do I keep?",
    "Suggest a name for my honey brand.",
]
RAG_QUESTIONS = [
    ("bakery-hours.md", "When does the Pão de Ló bakery open?"),
    ("harbor-lighthouse.md", "How tall is the Quillon Harbor lighthouse?"),
    ("river-festival.md", "When does the Velna River Festival take place?"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pair(local_registry: ProviderRegistry) -> AsyncIterator[tuple[PepperPy, PepperPy]]:
    options: dict[str, Any] = {"seed": 42, "temperature": 0.0, "max_tokens": 48}
    cached = PepperPy(registry=local_registry).with_llm("local", **options)
    fresh = PepperPy(registry=local_registry).with_llm("local", prompt_cache=False, **options)
    async with cached, fresh:
        yield cached, fresh


def _evaluated(pepper: PepperPy) -> int:
    """Tokens llama.cpp decoded since the last call (its own perf counters), then reset."""
    import llama_cpp

    ctx = pepper._providers["llm"]._llama._ctx.ctx
    data = llama_cpp.llama_perf_context(ctx)
    llama_cpp.llama_perf_context_reset(ctx)
    return int(data.n_p_eval + data.n_eval)


async def _answer(pepper: PepperPy, messages: list[Message]) -> tuple[str, int, int]:
    _evaluated(pepper)
    result = await pepper.chat.with_messages(messages).generate()
    assert result.usage is not None
    return result.content, result.usage.prompt_tokens, _evaluated(pepper)


async def test_a_conversation_gives_the_same_answers_with_the_cache(
    pair: tuple[PepperPy, PepperPy],
) -> None:
    cached, fresh = pair
    history = [Message(MessageRole.SYSTEM, "You are a friendly assistant. Answer briefly.")]
    saved = []
    for turn in TURNS:
        history.append(Message(MessageRole.USER, turn))
        text, prompt, evaluated_cached = await _answer(cached, history)
        same, same_prompt, evaluated_fresh = await _answer(fresh, history)
        assert (text, prompt) == (same, same_prompt), turn
        saved.append(evaluated_fresh - evaluated_cached)
        history.append(Message(MessageRole.ASSISTANT, text))
    # From the second turn on, the whole earlier conversation comes from the cache.
    assert all(s > 20 for s in saved[1:]), saved


async def test_rag_questions_sharing_a_system_prompt_give_the_same_answers(
    pair: tuple[PepperPy, PepperPy],
) -> None:
    cached, fresh = pair
    saved = []
    for source, question in RAG_QUESTIONS:
        text = (CORPUS / source).read_text(encoding="utf-8")[:600]
        messages = [
            Message(MessageRole.SYSTEM, DEFAULT_PROMPT),
            Message(MessageRole.USER, f"Sources:\n[1] ({source}) {text}\n\nQuestion: {question}"),
        ]
        answer, _, evaluated_cached = await _answer(cached, messages)
        same, _, evaluated_fresh = await _answer(fresh, messages)
        assert answer == same, question
        assert answer.strip()
        saved.append(evaluated_fresh - evaluated_cached)
    assert all(s > 20 for s in saved[1:]), saved  # the system prompt is reused


async def test_the_same_question_twice_gives_the_same_answer(
    pair: tuple[PepperPy, PepperPy],
) -> None:
    cached, _ = pair
    messages = [Message(MessageRole.USER, "Name three colours.")]
    first = await _answer(cached, messages)
    second = await _answer(cached, messages)  # the whole prompt is in the cache now
    assert first[:2] == second[:2]


async def test_a_failed_call_leaves_a_clean_cache(local_registry: ProviderRegistry) -> None:
    async with PepperPy(registry=local_registry).with_llm(
        "local", n_ctx=128, temperature=0.0, max_tokens=8
    ) as pepper:
        before = (await pepper.chat.with_user("Say hi.").generate()).content
        with pytest.raises(Exception, match="n_ctx"):
            await pepper.chat.with_user("Say hi. " + "lorem ipsum " * 80).generate()
        assert pepper._providers["llm"]._llama.n_tokens == 0
        assert (await pepper.chat.with_user("Say hi.").generate()).content == before
