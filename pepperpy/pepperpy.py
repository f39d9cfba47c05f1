"""The ``PepperPy`` class: one fluent object for LLMs, embeddings, RAG and storage.

Invariants:
- ``with_*`` resolves the provider at once (unknown names, untrusted bundles and bad
  options fail on that line) but does no network or model I/O.
- Each provider is initialized at most once, on ``async with`` or on first use, and
  every initialized provider is cleaned up once, even when the body raised.
- Providers are independent: ``async with`` starts them all at once and cleans them up
  one at a time, in the reverse of the order they were configured (a provider about to
  load a large model that stays may first wait for the starts that peak:
  ``pepperpy.core.start_peaks_passed``). When one fails to start, the others finish
  starting, every started one is cleaned up, and the error raised names the provider
  that failed.
- No process-wide state: each ``PepperPy`` has its own registry unless one is passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pepperpy._sync import SyncRunner
from pepperpy.core import (
    START_PEAKS,
    BaseProvider,
    ConfigurationError,
    PepperpyError,
    ProviderError,
    ValidationError,
)

if TYPE_CHECKING:
    from pepperpy.agent import Agent
    from pepperpy.chat import ChatBuilder
    from pepperpy.documents import DocumentLoader
    from pepperpy.embeddings import EmbeddingProvider
    from pepperpy.handle import ProviderHandle
    from pepperpy.history import ConversationHistory
    from pepperpy.llm import LLMProvider, Message
    from pepperpy.rag import RAGProvider
    from pepperpy.rag_builder import Answer, RAGBuilder
    from pepperpy.registry import ProviderRegistry
    from pepperpy.reliability.fallback import Link
    from pepperpy.reliability.layer import Reliability
    from pepperpy.reliability.usage import UsageTotals
    from pepperpy.settings import Settings
    from pepperpy.storage import StorageProvider
    from pepperpy.tools import ToolBox

__all__ = ["PepperPy"]

_SETUP_HINT = {
    "llm": "with_llm('openai', api_key=...) or with_llm('local')",
    "embeddings": "with_embeddings('local')",
    "rag": "with_rag('chroma')",
    "storage": "with_storage('sqlite')",
    "tools": "with_tools('mcp', command=[...]) or with_tools('mcp', url=...)",
}


def _setup_hint(category: str) -> str:
    return _SETUP_HINT.get(category) or f"pepper.use({category!r}, PROVIDER_NAME, ...)"


_CHAT_BUILDER: type[ChatBuilder] | None = None  # pepperpy.chat's, once a chat was made


def _chat_builder() -> type[ChatBuilder]:
    """``ChatBuilder``, imported by the first chat. Not an import statement in ``chat``
    itself: on every request, a from-import of a module (not a package) formats an
    AttributeError for its missing ``__path__`` (~3.5K instructions)."""
    global _CHAT_BUILDER
    from pepperpy.chat import ChatBuilder

    _CHAT_BUILDER = ChatBuilder
    return ChatBuilder


_LATE: dict[str, Any] = {}  # "module:name" -> the object, once a first call imported it


def _late(spec: str) -> Any:
    """``pepperpy.MODULE.NAME`` for ``"MODULE:NAME"``, imported by the first call that
    needs it and kept: the paths a user repeats (``pepper.rag``, ``ask``, history) skip
    the per-call from-import (~3.5K instructions, see ``_chat_builder``), and ``from
    pepperpy import PepperPy`` still imports none of these modules."""
    found = _LATE.get(spec)
    if found is None:
        import importlib

        module, name = spec.split(":")
        found = _LATE[spec] = getattr(importlib.import_module(f"pepperpy.{module}"), name)
    return found


class PepperPy:
    """Configure providers fluently, then chat, embed, retrieve and remember.

    >>> async with PepperPy().with_llm("local") as pepper:
    ...     print((await pepper.chat.with_user("Hi").generate()).content)
    """

    def __init__(
        self,
        *,
        registry: ProviderRegistry | None = None,
        settings: Settings | None = None,
        auto_install: bool | None = None,
        data_dir: str | Path | None = None,
        conversation_id: str = "default",
        history_limit: int = 20,
    ) -> None:
        self._registry = registry
        self._settings = settings
        self._auto_install = auto_install
        self.data_dir = Path(data_dir) if data_dir is not None else Path("pepperpy_data")
        self.conversation_id = conversation_id
        if not isinstance(history_limit, int) or isinstance(history_limit, bool) or (
            history_limit < 0
        ):
            raise ValidationError(
                f"history_limit must be a whole number of messages >= 0, got {history_limit!r}"
            )
        self.history_limit = history_limit
        self._providers: dict[str, BaseProvider] = {}
        self._request_defaults: dict[str, Any] = {}
        self._ready: dict[str, BaseProvider] = {}
        self._init_locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # where providers were started
        self._sync = SyncRunner()
        self._rel: Reliability | None = None
        self._fallbacks: dict[str, list[Link]] = {}
        self._layers: dict[str, Any] = {}  # category -> the reliable wrapper over its chain
        self._last_category: str | None = None
        self._loaders: dict[str, DocumentLoader] | None = None
        self._tool_sources: list[tuple[str, str, float | None]] = []  # key, prefix, timeout

    # -- configuration ----------------------------------------------------------
    def with_llm(self, provider_type: str = "openai", /, **config: Any) -> Self:
        """Use an LLM provider ("openai", "anthropic", "openrouter", "local", ...)."""
        return self._configure("llm", provider_type, config)

    def with_embeddings(self, provider_type: str = "local", /, **config: Any) -> Self:
        return self._configure("embeddings", provider_type, config)

    def with_rag(self, provider_type: str = "chroma", /, **config: Any) -> Self:
        return self._configure("rag", provider_type, config)

    def with_storage(self, provider_type: str = "sqlite", /, **config: Any) -> Self:
        return self._configure("storage", provider_type, config)

    @property
    def registry(self) -> ProviderRegistry:
        """Where providers come from: in-process registrations, then signed plugins."""
        if self._registry is None:
            from pepperpy.distribution.autofetch import AutoFetch
            from pepperpy.plugins.manager import PluginManager
            from pepperpy.registry import ProviderRegistry
            from pepperpy.settings import Settings

            settings = self._settings or Settings.from_env()
            manager = PluginManager(settings, auto_install=self._auto_install)
            self._registry = ProviderRegistry(resolver=AutoFetch(manager))
        return self._registry

    def with_tools(
        self, provider_type: str = "mcp", /, *, prefix: str = "", timeout: float | None = None,
        **config: Any,
    ) -> Self:
        """Offer a tools provider's tools to every chat and agent (call it any number of
        times): ``with_tools("mcp", command=["python", "server.py"])`` or ``url=...``.

        ``prefix`` is put before each of its tool names (two tools of one name are
        refused); ``timeout`` bounds each call, in seconds (an error result past it).
        """
        from pepperpy.tools import check_tool_settings

        check_tool_settings(prefix, timeout)
        key = "tools" if "tools" not in self._providers else f"tools:{len(self._tool_sources)}"
        self._configure("tools", provider_type, config, key=key)
        self._tool_sources.append((key, prefix, timeout))
        return self

    def use(self, category: str, provider_type: str, /, **config: Any) -> ProviderHandle:
        """A provider of any category, known to the core or not:
        ``await pepper.use("tts", "espeak").synthesize("Hello")``.

        The first call configures it (as ``with_llm`` and friends do); a later call with
        the same names and no options returns the same provider. It starts on first use
        (or on ``async with``) and is cleaned up with the others.
        """
        from pepperpy.handle import ProviderHandle
        from pepperpy.registry import interface_for

        interface_for(category)  # a malformed category name fails here
        key = category
        current = self._providers.get(key)
        if current is not None and current.provider_name != provider_type:
            key = f"{category}:{provider_type}"
            current = self._providers.get(key)
        if current is None or config:
            self._configure(category, provider_type, config, key=key)
        return ProviderHandle(lambda: self._provider(key), f"{category} provider "
                              f"{provider_type!r}")

    def _configure(self, category: str, provider_type: Any, config: dict[str, Any], *,
                   key: str | None = None) -> Self:
        key = key or category
        if "provider_type" in config:  # the seed's keyword form: with_llm(provider_type=...)
            provider_type = config.pop("provider_type")
        if not isinstance(provider_type, str) or not provider_type:
            raise ValidationError(f"the {category} provider name must be a non-empty string")
        if key in self._ready:
            raise ConfigurationError(
                f"the {category} provider is already initialized; configure providers "
                "before entering `async with` or making the first call"
            )
        config = self._take_prices(category, provider_type, config)
        if category == "llm":
            from pepperpy.llm import split_generation_defaults

            self._request_defaults, config = split_generation_defaults(
                config, label=f"llm provider {provider_type!r}")
        self._providers[key] = self._create(category, provider_type, config)
        self._fallbacks.pop(key, None)  # a new primary starts a new chain
        self._layers.pop(key, None)
        self._last_category = key
        return self

    def _create(self, category: str, provider_type: str, config: dict[str, Any]) -> BaseProvider:
        loaded = self.registry.load(category, provider_type)
        schema = loaded.config_schema or {}
        properties = schema.get("properties", {})
        if "data_dir" in properties and "data_dir" not in config:
            config = {**config, "data_dir": str(self.data_dir)}
        if "max_retries" in config and schema and "max_retries" not in properties:
            raise ConfigurationError(
                f"{category} provider {provider_type!r}: max_retries is not a provider option: "
                "PepperPy retries every provider the same way; use "
                ".with_retry(attempts=N) instead (N tries in all)"
            )
        return self.registry.create(category, provider_type, config)

    # -- reliability (pepperpy/reliability/) ----------------------------------------------
    @property
    def _reliability(self) -> Reliability:
        if self._rel is None:
            from pepperpy.reliability.layer import Reliability

            self._rel = Reliability()
        return self._rel

    def _take_prices(self, category: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
        if category not in ("llm", "embeddings") or "prices" not in config:
            return config
        from pepperpy.reliability.usage import check_prices

        config = dict(config)
        prices = check_prices(config.pop("prices"), label=f"{category} provider {name!r}")
        self._reliability.usage.set_prices(name, prices)
        return config

    def with_retry(
        self, *, attempts: int = 3, backoff: float = 0.5, max_wait: float = 30.0,
        jitter: bool = True,
    ) -> Self:
        """Try each provider ``attempts`` times on retryable errors (429, 5xx, timeouts).

        Waits ``backoff`` seconds, doubling per retry with jitter, capped at ``max_wait``;
        a server's Retry-After wins (one above ``max_wait`` is not waited for).
        ``attempts=1`` turns retries off. On by default with these values.
        """
        from pepperpy.reliability.retry import RetryPolicy

        policy = RetryPolicy(attempts=attempts, backoff=backoff, max_wait=max_wait,
                             jitter=jitter)
        self._reliability.retry = policy
        return self

    def with_timeout(self, seconds: float | None) -> Self:
        """A deadline per request that covers its retries, waits and fallbacks together.

        Past it the call raises ``ProviderTimeoutError``; ``None`` removes it (each
        attempt still has the provider's own ``timeout``). A chat can set its own with
        ``pepper.chat.with_timeout(...)``.
        """
        from pepperpy.reliability.deadline import check_timeout

        self._reliability.timeout = (
            None if seconds is None else check_timeout(seconds, where="with_timeout()")
        )
        return self

    def with_fallback(
        self, provider_type: str, /, *, on: Any = (), **config: Any
    ) -> Self:
        """Back up the provider configured just before with another of its category.

        ``.with_llm("openai").with_fallback("anthropic", model=...)``: a request moves
        on after a retryable failure (once its retries are spent) or an error listed in
        ``on=`` (e.g. ``on=(AuthenticationError,)``); never after a stream started.
        Chain as many as you like; they are tried in order.
        """
        from pepperpy.reliability import fallback

        category = self._last_category
        if category not in ("llm", "embeddings"):
            raise ConfigurationError(
                "with_fallback() backs up the provider configured just before it: call it "
                "right after with_llm(...) or with_embeddings(...)"
            )
        if category in self._ready:
            raise ConfigurationError(
                f"the {category} provider is already initialized; configure fallbacks "
                "before entering `async with` or making the first call"
            )
        errors = fallback.check_on(on)
        self._check_category(category, provider_type)
        config = self._take_prices(category, provider_type, config)
        provider = self._create(category, provider_type, config)
        chain = self._fallbacks.setdefault(category, [])
        key = f"{category}:fallback:{len(chain) + 1}"
        link = fallback.Link(provider_type, provider, lambda: self._start(key, provider),
                             errors)
        links = [self._primary_link(category), *chain, link]
        fallback.check_chain(category, links)
        if category == "embeddings":
            fallback.check_dimensions(links[0], link)
        chain.append(link)
        self._layers.pop(category, None)
        return self

    def _check_category(self, category: str, name: str) -> None:
        from pepperpy.core import PluginNotFoundError
        from pepperpy.registry import CATEGORIES

        try:
            self.registry.load(category, name)
        except PluginNotFoundError:
            for other in CATEGORIES:
                if other != category and name in self.registry.available(other):
                    raise ConfigurationError(
                        f"with_fallback({name!r}): {name!r} is in the {other} category, but it "
                        f"would back up the {category} provider; a fallback must be of the "
                        f"same category (available {category} providers: "
                        f"{', '.join(self.registry.available(category)) or 'none'})"
                    ) from None
            raise

    def with_cache(self, *, ttl: float = 3600.0, any_temperature: bool = False) -> Self:
        """Keep answers to identical requests in the configured storage for ``ttl`` s.

        Only repeatable requests are cached (temperature 0 or an explicit seed, unless
        ``any_temperature=True``); errors and tool-call rounds never are. A cached
        answer has ``result.cached`` set. Needs ``with_storage(...)`` first.
        """
        from pepperpy.reliability.cache import ResponseCache, check_ttl
        from pepperpy.reliability.layer import check_cache_storage

        check_cache_storage("storage" in self._providers)
        if not isinstance(any_temperature, bool):
            raise ConfigurationError(
                f"with_cache(): any_temperature must be True or False, got {any_temperature!r}"
            )

        async def storage() -> StorageProvider:
            return await self._provider("storage")

        self._reliability.cache = ResponseCache(
            storage, ttl=check_ttl(ttl), any_temperature=any_temperature
        )
        return self

    def with_tracing(
        self, *, enabled: bool = True, capture_content: bool = False,
        tracer_provider: Any = None,
    ) -> Self:
        """OpenTelemetry spans per call and attempt (GenAI conventions) when the
        ``opentelemetry-api`` package is installed; on by default, through the global
        tracer provider unless ``tracer_provider`` is given. Prompts and answers go into
        spans only with ``capture_content=True``."""
        from pepperpy.reliability.tracing import Tracing

        if not isinstance(enabled, bool) or not isinstance(capture_content, bool):
            raise ConfigurationError("with_tracing(): enabled and capture_content take "
                                     "True or False")
        if tracer_provider is not None and not hasattr(tracer_provider, "get_tracer"):
            raise ConfigurationError(
                "with_tracing(tracer_provider=...) takes an OpenTelemetry TracerProvider, "
                f"got {tracer_provider!r}"
            )
        self._reliability.tracing = Tracing(
            enabled=enabled, capture_content=capture_content, tracer_provider=tracer_provider
        )
        return self

    @property
    def usage(self) -> UsageTotals:
        """Tokens, requests, retries, fallbacks, cache hits and cost per provider and model."""
        return self._reliability.usage

    def _primary_link(self, category: str) -> Link:
        from pepperpy.reliability.fallback import Link

        provider = self._providers[category]
        return Link(provider.provider_name, provider, lambda: self._provider(category),
                    ready=partial(self._started, category))

    def _started(self, category: str) -> Any:
        """The provider for ``category`` if started on the running loop, else ``None``
        (``_provider`` then starts it or refuses the loop)."""
        if asyncio.get_running_loop() is self._loop:
            return self._ready.get(category)
        return None

    def _layer(self, category: str) -> Any:
        layer = self._layers.get(category)
        if layer is None:
            from pepperpy.reliability.layer import build

            chain = [self._primary_link(category), *self._fallbacks.get(category, ())]
            layer = self._layers[category] = build(self._reliability, category, chain)
        return layer

    async def _start(self, key: str, provider: BaseProvider) -> BaseProvider:
        """A fallback provider, initialized on first use (cleaned up by aclose())."""
        self._check_loop()
        if key in self._ready:
            return self._ready[key]
        async with self._init_locks.setdefault(key, asyncio.Lock()):
            if key not in self._ready:
                await provider.initialize()
                self._ready[key] = provider
        return provider

    # -- lifecycle --------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.aclose()
            return
        try:  # the body's exception is the one that matters: don't mask it
            await self.aclose()
        except Exception as cleanup_error:
            import warnings

            warnings.warn(
                f"a provider failed to clean up after an error: {cleanup_error!r}",
                RuntimeWarning,
                stacklevel=2,
            )

    async def initialize(self) -> None:
        """Start every configured provider at once; if one fails, undo all and raise.

        The starts of providers whose start peaks (``BaseProvider.start_peaks``: an
        ONNX session's build needs about twice its model for a moment) are announced to
        the others, so a provider about to map a large model can wait for them
        (``start_peaks_passed``) rather than have the two peaks add up.
        Nothing is cancelled half-way (a model loading in a worker thread cannot be
        stopped): the others finish starting, then every started one is cleaned up.
        """
        self._check_loop()
        categories = [c for c in self._providers if c not in self._ready]
        try:
            results = await asyncio.gather(*self._starts(categories), return_exceptions=True)
        except BaseException:  # cancelled from outside: undo what did start
            await self._close_quietly()
            raise
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self._close_quietly()
            for other in failures[1:]:
                failures[0].add_note(f"also failed to start: {other}")
            raise failures[0]

    def _starts(self, categories: list[str]) -> list[asyncio.Task[Any]]:
        """One started task per category, in order. Those whose start peaks go first;
        the others see an event (``START_PEAKS``) that is set once those are done."""
        tasks = {c: asyncio.create_task(self._provider(c))
                 for c in categories if self._providers[c].start_peaks}
        passed = asyncio.Event()
        if tasks:
            peaks = asyncio.gather(*tasks.values(), return_exceptions=True)
            peaks.add_done_callback(lambda _: passed.set())
        else:
            passed.set()
        announced = START_PEAKS.set(passed)
        try:  # a task copies the context it is created in
            for category in categories:
                if category not in tasks:
                    tasks[category] = asyncio.create_task(self._provider(category))
        finally:
            START_PEAKS.reset(announced)
        return [tasks[c] for c in categories]

    async def _close_quietly(self) -> None:
        try:
            await self.aclose()
        except Exception as cleanup_error:  # the start failure is the one to report
            import warnings

            warnings.warn(
                f"a provider failed to clean up after a failed start: {cleanup_error!r}",
                RuntimeWarning,
                stacklevel=3,
            )

    async def aclose(self) -> None:
        """Clean up every initialized provider once, in reverse configuration order.

        Fallback providers (started on demand, not configured by ``with_*``) go first.
        """
        errors: list[BaseException] = []
        order = [c for c in reversed(self._ready) if c not in self._providers]
        order += [c for c in reversed(self._providers) if c in self._ready]
        for category in order:
            provider = self._ready.pop(category)
            try:
                await provider.cleanup()
            except Exception as exc:  # keep cleaning the others up
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        self._sync.run(self.initialize())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._sync.run(self.__aexit__(exc_type, exc, tb))
        finally:
            self._sync.close()

    async def _provider(self, category: str) -> Any:
        """The initialized provider for ``category`` (initializing it on first use)."""
        self._check_loop()
        if category in self._ready:
            return self._ready[category]
        provider = self._providers.get(category)
        if provider is None:
            raise ConfigurationError(
                f"no {category} provider is configured: call {_setup_hint(category)} first"
            )
        lock = self._init_locks.setdefault(category, asyncio.Lock())
        async with lock:  # one lock per provider: different providers start together
            if category not in self._ready:
                try:
                    await provider.initialize()
                except Exception as exc:
                    named = _naming(exc, category, provider)
                    if named is exc:
                        raise
                    raise named from exc
                self._ready[category] = provider
        return provider

    def _check_loop(self) -> None:
        """Providers' clients belong to the loop that started them: refuse another one."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        if not self._ready:  # nothing started yet, or all closed: this loop takes over
            self._loop, self._init_locks = loop, {}
        else:
            raise ConfigurationError(
                "this PepperPy's providers were started on another event loop (sync calls "
                "and `with` run on a private one; `async with` on yours): use one style "
                "per PepperPy object, or close it (aclose()/close_sync()) before switching"
            )

    def _require(self, category: str) -> None:
        if category not in self._providers:
            raise ConfigurationError(
                f"no {category} provider is configured: call {_setup_hint(category)} first"
            )

    # -- builders -----------------------------------------------------------------
    @property
    def chat(self) -> ChatBuilder:
        """A new chat: ``pepper.chat.with_user("...").generate()``."""
        builder = _CHAT_BUILDER or _chat_builder()
        if "llm" not in self._providers:  # _require("llm"), called only when it raises
            self._require("llm")
        history = self._history if "storage" in self._providers else None
        tools = self.tools.collect if self._tool_sources else None
        rel = self._rel if self._rel is not None else self._reliability
        # Positional (provider_getter, run, history, tools, tracing, defaults, layers):
        # a class called with keywords costs about twice as much, on every chat.
        return builder(self._llm_layer, self._sync.run, history, tools, rel.tracing,
                       self._request_defaults, self._layers)

    def agent(
        self, *, instructions: str = "", max_steps: int = 8,
        tools: Sequence[Any] = (), max_tool_calls: int = 32, timeout: float | None = None,
        conversation_id: str | None = None, model: str | None = None,
    ) -> Agent:
        """An agent: ``await pepper.agent(instructions="...").run("task")`` loops model ->
        tools -> model (the configured tools plus ``tools``) until an answer or
        ``max_steps`` model calls; ``conversation_id`` keeps its memory in storage."""
        from pepperpy.agent import Agent

        self._require("llm")
        history = self._history if "storage" in self._providers else None
        return Agent(
            llm=self._llm_layer, configured_tools=self.tools.collect if self._tool_sources
            else None, history=history, run=self._sync.run,
            tracing=self._reliability.tracing, instructions=instructions, max_steps=max_steps,
            tools=tools, max_tool_calls=max_tool_calls, timeout=timeout,
            conversation_id=conversation_id, model=model, defaults=self._request_defaults,
        )

    @property
    def tools(self) -> ToolBox:
        """The configured tools providers' tools: ``await pepper.tools.list()``,
        ``await pepper.tools.call("lookup", {"word": "x"})``."""
        from pepperpy.tools import ToolBox

        sources = [(lambda key=key: self._provider(key), prefix, timeout)
                   for key, prefix, timeout in self._tool_sources]
        return ToolBox(sources, tracing=self._reliability.tracing)

    @property
    def rag(self) -> RAGBuilder:
        """Retrieval: ``pepper.rag.add_texts([...])``, ``.search(q)``, ``.ask(q)``."""
        self._require("rag")
        self._require("embeddings")
        chat = (lambda: self.chat) if "llm" in self._providers else None
        return _late("rag_builder:RAGBuilder")(  # type: ignore[no-any-return]
            store=self._store, embedder=self._embeddings_layer, chat=chat, run=self._sync.run,
            loaders=self._document_loaders, raw_embedder=self._embedder,
        )

    async def _document_loaders(self) -> dict[str, DocumentLoader]:
        """File type -> the installed documents loader for it (first by name wins)."""
        if self._loaders is None:
            loaders: dict[str, DocumentLoader] = {}
            for name in self.registry.available("documents"):
                loader = self.registry.create("documents", name, {})
                await loader.initialize()
                for suffix in loader.file_types:  # type: ignore[attr-defined]
                    loaders.setdefault(suffix, loader)  # type: ignore[arg-type]
            self._loaders = loaders
        return self._loaders

    async def _llm(self) -> LLMProvider:
        """The configured LLM provider itself, initialized (no reliability layer)."""
        return await self._provider("llm")

    async def _llm_layer(self) -> LLMProvider:
        """What chats call: the LLM chain behind retries, deadline, cache and fallbacks."""
        layer = self._layers.get("llm")  # built only for a configured llm (every chat asks)
        if layer is None:
            self._require("llm")
            layer = self._layer("llm")
        return layer  # type: ignore[no-any-return]

    async def _store(self) -> RAGProvider:
        return await self._provider("rag")

    async def _embedder(self) -> EmbeddingProvider:
        """The configured embeddings provider itself, initialized (no reliability layer)."""
        return await self._provider("embeddings")

    async def _embeddings_layer(self) -> EmbeddingProvider:
        self._require("embeddings")
        return self._layer("embeddings")  # type: ignore[no-any-return]

    def _history(self, conversation_id: str) -> ConversationHistory:
        async def storage() -> StorageProvider:
            return await self._provider("storage")

        return _late("history:ConversationHistory")(  # type: ignore[no-any-return]
            _LazyStorage(storage),
            conversation_id,
            limit=self.history_limit,
        )

    @property
    def storage(self) -> _LazyStorage:
        """Namespaced JSON storage: ``await pepper.storage.put("notes", "k", {...})``."""
        self._require("storage")

        async def storage() -> StorageProvider:
            return await self._provider("storage")

        return _LazyStorage(storage)

    # -- short forms --------------------------------------------------------------
    async def ask(self, question: str, *, k: int = 4) -> Answer:
        """Answer a question: with retrieval when RAG is configured, else plain chat.

        With storage configured, the exchange is kept in the conversation history.
        """
        if not isinstance(question, str) or not question.strip():
            raise ValidationError("ask() needs a non-empty question string")
        if "rag" in self._providers:  # without embeddings, self.rag names the fix
            rag = self.rag
            if "storage" not in self._providers:
                return await rag.ask(question, k=k)
            message, role = _late("llm:Message"), _late("llm:MessageRole")
            history = self._history(self.conversation_id)
            answer = await rag.ask(question, k=k, history=await history.messages())
            exchange = [
                message(role.USER, question),
                message(role.ASSISTANT, answer.content),
            ]
            await history.append(exchange)
            return answer
        chat = self.chat.with_user(question)
        if "storage" in self._providers:
            chat = chat.in_conversation(self.conversation_id)
        result = await chat.generate()
        return _late("rag_builder:Answer")(result.content, [], result)  # type: ignore[no-any-return]

    async def learn(self, texts: Sequence[str] | str, **kwargs: Any) -> list[str]:
        """Add texts to the knowledge base (``pepper.rag.add_texts``)."""
        return await self.rag.add_texts(texts, **kwargs)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts with the configured embeddings provider."""
        if (
            isinstance(texts, str)
            or not isinstance(texts, Sequence)
            or not all(isinstance(t, str) for t in texts)
        ):
            raise ValidationError("embed() takes a list of strings")
        return await (await self._embeddings_layer()).embed(list(texts))

    async def history(self, conversation_id: str | None = None) -> list[Message]:
        """The stored messages of a conversation (default: this instance's)."""
        self._require("storage")
        history = self._history(conversation_id or self.conversation_id)
        return await history.messages(limit=-1)

    def ask_sync(self, question: str, *, k: int = 4) -> Answer:
        """``ask()`` for scripts; safe inside a running event loop."""
        return self._sync.run(self.ask(question, k=k))

    def learn_sync(self, texts: Sequence[str] | str, **kwargs: Any) -> list[str]:
        return self._sync.run(self.learn(texts, **kwargs))

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        return self._sync.run(self.embed(texts))

    def close_sync(self) -> None:
        """Clean up after sync use (the ``with`` statement does this for you)."""
        try:
            self._sync.run(self.aclose())
        finally:
            self._sync.close()

    def __repr__(self) -> str:
        configured = ", ".join(
            f"{c}={p.provider_name}" for c, p in self._providers.items()
        )
        return f"<PepperPy {configured or 'unconfigured'}>"


class _LazyStorage:
    """The configured storage provider, initialized on first use."""

    def __init__(self, getter: Any) -> None:
        self._getter = getter

    async def get(self, namespace: str, key: str) -> Any:
        return await (await self._getter()).get(namespace, key)

    async def put(self, namespace: str, key: str, value: Any) -> None:
        await (await self._getter()).put(namespace, key, value)

    async def delete(self, namespace: str, key: str) -> bool:
        return await (await self._getter()).delete(namespace, key)

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        return await (await self._getter()).list(namespace, prefix=prefix)


def _naming(exc: Exception, category: str, provider: BaseProvider) -> Exception:
    """The start failure, its message naming the provider (the class is kept).

    A ``PepperpyError`` keeps its class and fields, so ``except`` clauses still match;
    anything else becomes a ``ProviderError`` chained to the original.
    """
    name = provider.provider_name
    prefix = f"the {category} provider {name!r} failed to start"
    if not isinstance(exc, PepperpyError):
        return ProviderError(f"{prefix}: {type(exc).__name__}: {exc}", provider=name)
    if exc.args and isinstance(exc.args[0], str) and name not in exc.args[0]:
        exc.args = (f"{prefix}: {exc.args[0]}", *exc.args[1:])
    return exc
