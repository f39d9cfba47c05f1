"""The offline LLM provider, run for real on SmolLM2-135M-Instruct through PepperPy."""

from __future__ import annotations

import asyncio

import pytest

from pepperpy import PepperPy
from pepperpy.core import BadRequestError, ValidationError
from pepperpy.llm import GenerationResult, Tool
from pepperpy.registry import ProviderRegistry

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def test_generate_answers_with_usage(llm_pepper: PepperPy) -> None:
    result = await (
        llm_pepper.chat.with_system("You answer in one short sentence.")
        .with_user("What is the capital of France?")
        .with_max_tokens(32)
        .generate()
    )
    assert isinstance(result, GenerationResult)
    assert result.content.strip()
    assert result.finish_reason in {"stop", "length"}
    assert result.usage is not None
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.completion_tokens <= 32
    assert result.model and "SmolLM2" in result.model
    assert [m.role.value for m in result.messages] == ["system", "user", "assistant"]


async def test_same_seed_same_answer(llm_pepper: PepperPy) -> None:
    def chat() -> object:
        return llm_pepper.chat.with_user("Name three colours.").with_max_tokens(24)

    first = await chat().generate()  # type: ignore[attr-defined]
    second = await chat().generate()  # type: ignore[attr-defined]
    assert first.content == second.content


async def test_stream_yields_several_chunks(llm_pepper: PepperPy) -> None:
    chunks = [
        chunk
        async for chunk in llm_pepper.chat.with_user("Write one sentence about the sea.")
        .with_max_tokens(40)
        .stream()
    ]
    text = "".join(c.content for c in chunks)
    assert len([c for c in chunks if c.content]) >= 3
    assert text.strip()
    assert chunks[-1].finish_reason in {"stop", "length"}
    assert all(c.finish_reason is None for c in chunks[:-1])
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0


async def test_stream_usage_matches_generate(llm_pepper: PepperPy) -> None:
    for question, limit in [("Say hi.", 48), ("Count from one to fifty.", 12)]:
        whole = await llm_pepper.chat.with_user(question).with_max_tokens(limit).generate()
        chunks = [
            c async for c in llm_pepper.chat.with_user(question).with_max_tokens(limit).stream()
        ]
        assert "".join(c.content for c in chunks) == whole.content
        assert chunks[-1].finish_reason == whole.finish_reason
        assert chunks[-1].usage == whole.usage


async def test_leaving_a_stream_early_frees_the_model(llm_pepper: PepperPy) -> None:
    stream = llm_pepper.chat.with_user("Count from one to fifty.").with_max_tokens(200).stream()
    async for _chunk in stream:
        break
    await stream.aclose()
    # The model lock is released: the next request is not stuck behind the stream.
    result = await asyncio.wait_for(
        llm_pepper.chat.with_user("Say hi.").with_max_tokens(8).generate(), timeout=60
    )
    assert result.content.strip()


async def test_structured_output_is_valid_json(llm_pepper: PepperPy) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 40}},
        "required": ["city"],
    }
    result = await (
        llm_pepper.chat.with_user("Which city is the capital of France? Answer in JSON.")
        .with_schema(schema)
        .with_max_tokens(48)
        .generate()
    )
    assert isinstance(result.parsed, dict) and isinstance(result.parsed["city"], str)


async def test_tools_are_refused_clearly(llm_pepper: PepperPy) -> None:
    def weather(city: str) -> str:
        """Current weather in a city."""
        return "sunny"

    with pytest.raises(BadRequestError, match="does not support tool calling"):
        await (
            llm_pepper.chat.with_user("Weather in Paris?")
            .with_tools([Tool.from_function(weather)])
            .generate()
        )


async def test_missing_model_path_is_a_config_error(
    local_registry: ProviderRegistry, tmp_path: object
) -> None:
    missing = f"{tmp_path}/nope.gguf"
    pepper = PepperPy(registry=local_registry).with_llm("local", model_path=missing)
    with pytest.raises(ValidationError, match="model_path") as caught:
        async with pepper:
            pass
    assert missing in str(caught.value)


async def test_unknown_option_is_refused(local_registry: ProviderRegistry) -> None:
    with pytest.raises(ValidationError, match="unknown option"):
        PepperPy(registry=local_registry).with_llm("local", n_gpu_layers=10)


async def test_prompt_longer_than_the_context_is_a_bad_request(
    local_registry: ProviderRegistry,
) -> None:
    long_question = "Please summarise this: " + "lorem ipsum dolor sit amet " * 40
    async with PepperPy(registry=local_registry).with_llm("local", n_ctx=64) as pepper:
        with pytest.raises(BadRequestError, match="n_ctx"):
            await pepper.chat.with_user(long_question).generate()
        with pytest.raises(BadRequestError, match="n_ctx"):
            async for _chunk in pepper.chat.with_user(long_question).stream():
                pass
        # The provider is still usable afterwards.
        result = await pepper.chat.with_user("Hi").with_max_tokens(4).generate()
        assert result.usage is not None and result.usage.prompt_tokens > 0
