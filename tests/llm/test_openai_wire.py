"""OpenAI- and OpenRouter-specific wire details: auth, headers, message encoding."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pepperpy import ConfigurationError, Message, MessageRole, PepperPy, ToolCall, ValidationError
from pepperpy.llm import GenerationOptions
from pepperpy.openai_compatible import OpenAIChatProvider
from pepperpy_testing.wire.openai import OpenAIServer
from tests.llm.conftest import API_KEY


@pytest.mark.parametrize("vendor", ["openai", "openrouter"])
async def test_bearer_auth_and_default_model(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer, vendor: str
) -> None:
    default = {"openai": "gpt-4o-mini", "openrouter": "openai/gpt-4o-mini"}[vendor]
    async with make_pepper(vendor, openai_server, model=None) as pepper:
        await pepper.chat.with_user("hi").generate()
    request = openai_server.last()
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == default


async def test_openrouter_attribution_headers(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    pepper = make_pepper("openrouter", openai_server, site_url="https://example.org",
                         app_name="My App")
    async with pepper:
        await pepper.chat.with_user("hi").generate()
        [_ async for _ in pepper.chat.with_user("hi").stream()]
    for request in openai_server.requests:
        assert request.headers["http-referer"] == "https://example.org"
        assert request.headers["x-title"] == "My App"


async def test_openrouter_defaults_without_site_url(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    async with make_pepper("openrouter", openai_server) as pepper:
        await pepper.chat.with_user("hi").generate()
    headers = openai_server.last().headers
    assert headers["x-title"] == "PepperPy"
    assert "http-referer" not in headers


async def test_openrouter_default_base_url(llm_registry, clean_env: None) -> None:
    provider = llm_registry.create("llm", "openrouter", {"api_key": API_KEY})
    assert provider.config["base_url"] == "https://openrouter.ai/api/v1"


async def test_openai_organization_and_env_key(
    llm_registry, openai_server: OpenAIServer, clean_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url + "/v1")
    pepper = PepperPy(registry=llm_registry).with_llm("openai", organization="org-1")
    async with pepper:
        await pepper.chat.with_user("hi").generate()
    headers = openai_server.last().headers
    assert headers["authorization"] == "Bearer sk-from-env"
    assert headers["openai-organization"] == "org-1"


async def test_stream_asks_for_usage_unless_disabled(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    async with make_pepper("openai", openai_server, stream_usage=False) as pepper:
        chunks = [c async for c in pepper.chat.with_user("a b").stream()]
    assert "stream_options" not in openai_server.last().body
    assert chunks[-1].usage is None and chunks[-1].finish_reason == "stop"


async def test_history_with_tool_calls_is_encoded(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    call = ToolCall("call_9", "lookup", {"id": 7})
    history = [
        Message(MessageRole.SYSTEM, "sys"),
        Message(MessageRole.USER, "look 7 up", name="alice"),
        Message(MessageRole.ASSISTANT, "", tool_calls=(call,)),
        Message(MessageRole.TOOL, "found", name="lookup", tool_call_id="call_9"),
    ]
    async with make_pepper("openai", openai_server) as pepper:
        result = await pepper.chat.with_messages(history).generate()
    assert openai_server.last().body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "look 7 up", "name": "alice"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function",
             "function": {"name": "lookup", "arguments": '{"id": 7}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "found"},
    ]
    assert result.content == "tool said: found"


async def test_tool_message_without_id_is_refused(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    history = [Message(MessageRole.USER, "q"), Message(MessageRole.TOOL, "orphan")]
    async with make_pepper("openai", openai_server) as pepper:
        with pytest.raises(ValidationError, match="tool_call_id"):
            await pepper.chat.with_messages(history).generate()
    assert openai_server.requests == []


async def test_non_strict_schema_is_sent_as_is(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"},
              "b": {"type": "integer"}}, "required": ["a"]}
    async with make_pepper("openai", openai_server) as pepper:
        await pepper.chat.with_user("x").with_schema(schema).generate()
    sent = openai_server.last().body["response_format"]["json_schema"]
    assert sent["strict"] is False
    assert sent["schema"] == schema
    assert sent["name"] == "response"


async def test_a_request_before_initialize_or_after_cleanup_is_refused(
    openai_server: OpenAIServer,
) -> None:
    provider = OpenAIChatProvider(api_key=API_KEY, model="m", base_url=openai_server.url + "/v1")
    hi = [Message(MessageRole.USER, "hi")]
    with pytest.raises(ConfigurationError, match="not initialized"):
        await provider.generate(hi, GenerationOptions())
    await provider.initialize()
    assert (await provider.generate(hi, GenerationOptions())).content == "Echo: hi"
    await provider.cleanup()
    with pytest.raises(ConfigurationError, match="not initialized"):
        await provider.generate(hi, GenerationOptions())
    assert openai_server.hits == 1
