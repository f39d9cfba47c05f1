"""Misuse of the API raises PepperpyError subclasses that say what to do."""

from __future__ import annotations

import pytest

from pepperpy import (
    BaseProvider,
    ConfigurationError,
    Message,
    PepperPy,
    PluginLoadError,
    PluginNotFoundError,
    ValidationError,
)
from pepperpy_testing import fake_registry


def test_chat_before_with_llm_names_the_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"with_llm\("):
        PepperPy(registry=fake_registry()).chat  # noqa: B018


def test_rag_without_embeddings_names_the_fix() -> None:
    app = PepperPy(registry=fake_registry()).with_rag("memory")
    with pytest.raises(ConfigurationError, match=r"with_embeddings\("):
        app.rag  # noqa: B018


def test_unknown_provider_lists_what_is_available() -> None:
    with pytest.raises(PluginNotFoundError, match="available: fake") as info:
        PepperPy(registry=fake_registry()).with_llm("nope")
    message = str(info.value)
    # Both ways to install are named: by name from an index (as the README does) and
    # from a bundle file.
    assert "`pepperpy plugin install nope --category llm`" in message
    assert "pepperpy index add" in message
    assert "`pepperpy plugin install FILE`" in message


def test_a_mistyped_provider_name_is_not_offered_for_install() -> None:
    with pytest.raises(PluginNotFoundError) as info:
        PepperPy(registry=fake_registry()).with_llm("fkae")
    assert str(info.value) == ("no llm provider named 'fkae' (did you mean 'fake'?) "
                               "(available: fake); check the name")


def test_a_malformed_category_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid provider category 'Vision!'"):
        fake_registry().load("Vision!", "x")


def test_an_unknown_category_without_a_provider_names_the_fix() -> None:
    with pytest.raises(PluginNotFoundError, match=r"no vision provider named 'x'.*install"):
        fake_registry().load("vision", "x")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda c: c.with_message("robot", "hi"), "unknown message role"),
        (lambda c: c.with_user(42), "content must be a str"),
        (lambda c: c.with_temperature(5), "temperature"),
        (lambda c: c.with_max_tokens(0), "max_tokens"),
        (lambda c: c.with_model(3), "model must be str"),
        (lambda c: c.with_options(colour="red"), "unknown chat option"),
        (lambda c: c.with_messages(["hi"]), "Message objects"),
        (lambda c: c.with_schema(42), "pydantic model class or a JSON schema"),
        (lambda c: c.with_tools([42]), "pepperpy.Tool or a function"),
        (lambda c: c.in_conversation("x"), r"with_storage\("),
    ],
    ids=[
        "bad-role", "non-str-content", "temperature-range", "max-tokens-zero", "model-type",
        "unknown-option", "strings-as-messages", "bad-schema", "bad-tool", "history-no-storage",
    ],
)
def test_bad_builder_input(build, match) -> None:
    chat = PepperPy(registry=fake_registry()).with_llm("fake").chat
    with pytest.raises(ValidationError, match=match):
        build(chat)


async def test_empty_prompt_is_refused() -> None:
    async with PepperPy(registry=fake_registry()).with_llm("fake") as app:
        with pytest.raises(ValidationError, match="no user message"):
            await app.chat.with_system("only a system prompt").generate()
        with pytest.raises(ValidationError, match="no user message"):
            await app.chat.with_user("   ").generate()
        with pytest.raises(ValidationError, match="non-empty question"):
            await app.ask("")


def test_message_role_from_string() -> None:
    assert Message("user", "hi").role.value == "user"


def test_config_schema_errors_name_the_key_and_hide_secrets(monkeypatch) -> None:
    class Needy(BaseProvider):
        pass

    from pepperpy_testing import FakeLLM

    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api_key": {"type": "string", "env": "NEEDY_API_KEY", "secret": True},
            "timeout": {"type": "number", "default": 30},
            "replies": {"type": "array"},
        },
        "required": ["api_key"],
    }
    registry = fake_registry()
    registry.register("llm", "needy", FakeLLM, config_schema=schema)
    monkeypatch.delenv("NEEDY_API_KEY", raising=False)
    missing = r"api_key=\.\.\. or set the environment variable NEEDY_API_KEY"
    with pytest.raises(ValidationError, match=missing):
        PepperPy(registry=registry).with_llm("needy")
    with pytest.raises(ValidationError, match=r"unknown option.*colour.*allowed options: api_key"):
        PepperPy(registry=registry).with_llm("needy", api_key="k", colour=1)
    with pytest.raises(ValidationError, match="option timeout") as info:
        PepperPy(registry=registry).with_llm("needy", api_key="sk-SECRET", timeout="slow")
    assert "sk-SECRET" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        PepperPy(registry=registry).with_llm("needy", api_key=12345678)
    assert "12345678" not in str(info.value)
    monkeypatch.setenv("NEEDY_API_KEY", "from-env")
    app = PepperPy(registry=registry).with_llm("needy")
    assert app._providers["llm"].config == {"api_key": "from-env", "timeout": 30}
    assert "from-env" not in repr(app._providers["llm"])


def test_a_class_that_is_not_a_provider_is_refused() -> None:
    with pytest.raises(PluginLoadError, match="not a LLMProvider subclass"):
        fake_registry().register("llm", "wrong", dict)  # type: ignore[arg-type]


def test_configuring_after_initialize_is_refused() -> None:
    app = PepperPy(registry=fake_registry()).with_llm("fake")
    with app:
        with pytest.raises(ConfigurationError, match="already initialized"):
            app.with_llm("fake")


def test_secret_marked_config_value_never_appears_in_provider_repr() -> None:
    """A config_schema property with "secret": true is never shown by repr(provider),
    whatever its name (access_token, auth)."""
    from pepperpy.llm import GenerationResult, LLMProvider
    from pepperpy.registry import ProviderRegistry

    class _Provider(LLMProvider):
        async def generate(self, messages, options):  # pragma: no cover - never called
            return GenerationResult(content="")

        async def generate_stream(self, messages, options):  # pragma: no cover
            yield None

    schema = {"type": "object", "additionalProperties": False,
              "properties": {"access_token": {"type": "string", "secret": True},
                             "auth": {"type": "string", "secret": True}}}
    registry = ProviderRegistry()
    registry.register("llm", "tok", _Provider, config_schema=schema)
    provider = registry.create("llm", "tok", {"access_token": "sk-LEAK-1", "auth": "LEAK-2"})
    text = repr(provider)
    assert "LEAK" not in text, text


def test_ask_with_rag_but_no_llm_names_the_fix() -> None:
    app = PepperPy(registry=fake_registry()).with_embeddings("hash").with_rag("memory")
    with app:
        app.learn_sync(["Lisbon is the capital of Portugal."])
        with pytest.raises(ConfigurationError, match=r"with_llm\(.*rag\.search\(\)"):
            app.ask_sync("capital?")


def test_ask_with_rag_but_no_embeddings_names_the_fix() -> None:
    app = PepperPy(registry=fake_registry()).with_llm("fake").with_rag("memory")
    with app, pytest.raises(ConfigurationError, match=r"with_embeddings\("):
        app.ask_sync("capital?")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda app: app.rag.search_sync("q", k="4"), "k must be a positive integer"),
        (lambda app: app.rag.add_texts_sync(42), "a string or a list of strings"),
        (lambda app: app.chat.with_tools([], max_rounds=0), "max_rounds"),
        (lambda app: app.embed_sync(42), "a list of strings"),
    ],
    ids=["k-not-int", "texts-not-a-list", "max-rounds-zero", "embed-not-a-list"],
)
def test_bad_rag_and_tool_arguments(call, match) -> None:
    app = PepperPy(registry=fake_registry()).with_llm("fake")
    app.with_embeddings("hash").with_rag("memory")
    with app, pytest.raises(ValidationError, match=match):
        call(app)


async def test_close_on_cleanup_closes_every_resource_once_in_reverse() -> None:
    from pepperpy_testing import FakeLLM

    closed: list[str] = []

    class Sync:
        def close(self) -> None:
            closed.append("sync")

    class Async:
        async def aclose(self) -> None:
            closed.append("async")

    class Broken:
        def close(self) -> None:
            closed.append("broken")
            raise OSError("socket already gone")

    provider = FakeLLM()
    with pytest.raises(ConfigurationError, match="not initialized"):
        provider.require_initialized()
    await provider.initialize()
    provider.close_on_cleanup(Sync())
    provider.close_on_cleanup(Broken())
    assert isinstance(provider.close_on_cleanup(Async()), Async)
    provider.require_initialized()
    with pytest.raises(OSError, match="socket already gone"):
        await provider.cleanup()
    assert closed == ["async", "broken", "sync"]
    assert not provider.initialized
    await provider.cleanup()  # nothing left to close
    assert closed == ["async", "broken", "sync"]
    with pytest.raises(ConfigurationError, match="not initialized"):
        provider.require_initialized()
