"""The one place a provider call passes: cache, deadline, retries, fallbacks, usage, spans.

``ReliableLLM`` and ``ReliableEmbeddings`` implement the provider interfaces over a
chain of real providers, so the chat builder, RAG and ``pepper.embed`` use them
unchanged. Order of one call: cache lookup; then, under the deadline, attempt after
attempt (each counted and traced) until one answers or the chain is spent; then usage
and cache store. A stream is retried or moved to a fallback only before its first chunk
reached the caller, so two providers' text is never spliced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pepperpy.core import ConfigurationError, ProviderError
from pepperpy.embeddings import EmbeddingProvider
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
)
from pepperpy.reliability.cache import ResponseCache
from pepperpy.reliability.deadline import Deadline, current_deadline
from pepperpy.reliability.fallback import Link, falls_back
from pepperpy.reliability.retry import RetryPolicy
from pepperpy.reliability.tracing import Tracing
from pepperpy.reliability.usage import UsageTotals

__all__ = ["Reliability", "ReliableEmbeddings", "ReliableLLM"]

_T = TypeVar("_T")


class Reliability:
    """The settings and counters one ``PepperPy`` shares across its calls."""

    def __init__(self) -> None:
        self.retry = RetryPolicy()
        self.timeout: float | None = None
        self.cache: ResponseCache | None = None
        self.usage = UsageTotals()
        self.tracing = Tracing()

    def deadline(self) -> Deadline | None:
        found = current_deadline()
        if found is None and self.timeout is not None:
            return Deadline.after(self.timeout)
        return found


class _Call:
    """Where one request stands in its chain: which link, which attempt, what next."""

    __slots__ = (
        "attempt",
        "chain",
        "deadline",
        "fallbacks",
        "index",
        "model",
        "rel",
        "retries",
        "wait",
    )

    def __init__(
        self, rel: Reliability, chain: Sequence[Link], model: str, deadline: Deadline | None
    ) -> None:
        self.rel, self.chain, self.deadline = rel, chain, deadline
        self.index = self.attempt = self.retries = self.fallbacks = 0
        self.wait = 0.0
        self.model = model  # of the current link

    @property
    def link(self) -> Link:
        return self.chain[self.index]

    def next_attempt(self) -> Link:
        self.attempt += 1
        link = self.chain[self.index]
        self.rel.usage.request(link.name, self.model, retry=self.attempt > 1)
        return link

    def failed(self, error: BaseException) -> bool:
        """Decide after a failure: ``True`` to try again (after ``wait``), else raise."""
        if self.deadline is not None and self.deadline.expired():
            return False  # the deadline's own error: nothing may run after it
        wait = self.rel.retry.wait(self.attempt, error)
        if wait is not None:
            self.wait = wait
            self.retries += 1
            return True
        following = self.index + 1
        if following < len(self.chain) and falls_back(error, self.chain[following]):
            self.rel.usage.fallback(self.link.name, self.model)
            self.index, self.attempt, self.wait = following, 0, 0.0
            self.fallbacks += 1
            self.model = _model_of(self.chain[following], None)
            return True
        return False


def _model_of(link: Link, requested: str | None) -> str:
    return requested or link.model or "default"


async def _within(deadline: Deadline | None, awaitable: Awaitable[_T], what: str) -> _T:
    if deadline is None:
        return await awaitable
    timeout = asyncio.timeout_at(deadline.when)
    try:
        async with timeout:
            return await awaitable
    except TimeoutError:
        if timeout.expired():
            raise deadline.expired_error(what) from None
        raise


class _Layer:
    """What both provider kinds share: the chain walk with its spans and counters."""

    operation = ""

    def __init__(self, rel: Reliability, chain: Sequence[Link]) -> None:
        self._rel = rel
        self._chain = tuple(chain)
        self._pepperpy_provider_name = chain[0].name

    def _attempt_span(self, call: _Call, span: Any) -> Any:
        if span is None:
            return None
        return self._rel.tracing.start(f"{self.operation} {call.model}", {
            "gen_ai.operation.name": self.operation, "gen_ai.system": call.link.name,
            "gen_ai.request.model": call.model, "pepperpy.attempt": call.attempt,
            "pepperpy.fallback_index": call.index,
        }, parent=span)

    async def _walk(
        self, call: _Call, span: Any, attempt: Callable[[Any, int], Awaitable[_T]]
    ) -> _T:
        """Attempts until one answers; ``attempt(provider, link_index)``."""
        tracing = self._rel.tracing
        while True:
            link = call.next_attempt()
            provider = await link.start()
            child = self._attempt_span(call, span)
            try:
                result = await attempt(provider, call.index)
            except ProviderError as exc:
                tracing.fail(child, exc)
                if child is not None:
                    child.end()
                if not call.failed(exc):
                    raise
                if call.wait:
                    await asyncio.sleep(call.wait)
                continue
            except BaseException as exc:
                tracing.fail(child, exc)
                if child is not None:
                    child.end()
                raise
            if child is not None:
                _set_usage(child, result)
                child.end()
            return result

    def _call_span(self, call: _Call, options: GenerationOptions | None = None) -> Any:
        if not self._rel.tracing.active():
            return None
        extra = _request_attributes(options) if options is not None else {}
        return self._rel.tracing.start(f"{self.operation} {call.model}", {
            "gen_ai.operation.name": self.operation, "gen_ai.system": call.link.name,
            "gen_ai.request.model": call.model, **extra,
        })

    def _finish(self, span: Any, call: _Call, error: BaseException | None) -> None:
        if span is None:
            return
        span.set_attribute("pepperpy.retries", call.retries)
        span.set_attribute("pepperpy.fallbacks", call.fallbacks)
        span.set_attribute("pepperpy.provider", call.link.name)
        if error is not None:
            self._rel.tracing.fail(span, error)
        span.end()


def _request_attributes(options: GenerationOptions) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if options.temperature is not None:
        extra["gen_ai.request.temperature"] = options.temperature
    if options.max_tokens is not None:
        extra["gen_ai.request.max_tokens"] = options.max_tokens
    if options.seed is not None:
        extra["gen_ai.request.seed"] = options.seed
    return extra


def _set_usage(span: Any, result: Any) -> None:
    usage = getattr(result, "usage", None)
    if usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
    model = getattr(result, "model", None)
    if model:
        span.set_attribute("gen_ai.response.model", model)
    finish = getattr(result, "finish_reason", None)
    if finish:
        span.set_attribute("gen_ai.response.finish_reasons", (finish,))


class ReliableLLM(_Layer, LLMProvider):
    """An ``LLMProvider`` over a chain of them, with PepperPy's reliability rules."""

    operation = "chat"

    def __init__(self, rel: Reliability, chain: Sequence[Link]) -> None:
        LLMProvider.__init__(self)
        _Layer.__init__(self, rel, chain)
        self.initialized = True

    def _options_for(self, options: GenerationOptions, index: int) -> GenerationOptions:
        # A chat's with_model() names the primary's model; fallbacks keep their own.
        if index and options.model is not None:
            return dataclasses.replace(options, model=None)
        return options

    def _content(self, span: Any, messages: Sequence[Message], output: str | None) -> None:
        if span is None or not self._rel.tracing.capture_content:
            return
        if output is None:
            span.set_attribute("gen_ai.input.messages",
                               json.dumps([m.to_dict() for m in messages]))
        else:
            span.set_attribute("gen_ai.output.messages",
                               json.dumps([{"role": "assistant", "content": output}]))

    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        rel, first = self._rel, self._chain[0]
        deadline = rel.deadline()
        call = _Call(rel, self._chain, _model_of(first, options.model), deadline)
        span = self._call_span(call, options)
        self._content(span, messages, None)
        error: BaseException | None = None
        try:
            key = None
            if rel.cache is not None:
                key, hit = await self._cached(call.model, messages, options)
                if hit is not None:
                    rel.usage.cache_hit(first.name, call.model)
                    if span is not None:
                        span.set_attribute("pepperpy.cached", True)
                    return hit

            async def attempt(provider: Any, index: int) -> GenerationResult:
                return await provider.generate(messages, self._options_for(options, index))

            result = await _within(deadline, self._walk(call, span, attempt),
                                   f"chat with {first.name!r}")
            result.provider = call.link.name
            result.model = result.model or call.model
            if result.usage is not None:
                rel.usage.tokens(call.link.name, call.model, result.usage.prompt_tokens,
                                 result.usage.completion_tokens)
            if key is not None and call.index == 0:
                await rel.cache.put(key, result)  # type: ignore[union-attr]
            if span is not None:
                _set_usage(span, result)
                self._content(span, messages, result.content)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(span, call, error)

    async def _cached(
        self, model: str, messages: Sequence[Message], options: GenerationOptions
    ) -> tuple[str | None, GenerationResult | None]:
        cache = self._rel.cache
        assert cache is not None
        primary = await self._chain[0].start()
        temperature = options.temperature
        if temperature is None:
            temperature = primary.config.get("temperature")
        key = cache.key(self._chain[0].name, model, messages, options, temperature)
        if key is None:
            return None, None
        return key, await cache.get(key)

    def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        # Not an async generator itself: the deadline is read now, in the caller's scope.
        return self._stream(messages, options, self._rel.deadline())

    async def _stream(
        self, messages: Sequence[Message], options: GenerationOptions, deadline: Deadline | None
    ) -> AsyncIterator[GenerationChunk]:
        rel, first = self._rel, self._chain[0]
        call = _Call(rel, self._chain, _model_of(first, options.model), deadline)
        span = self._call_span(call, options)
        self._content(span, messages, None)
        what = f"streaming chat with {first.name!r}"
        error: BaseException | None = None
        started = False
        try:
            while True:
                link = call.next_attempt()
                provider = await _within(deadline, link.start(), what)
                child = self._attempt_span(call, span)
                chunks = provider.generate_stream(messages, self._options_for(options,
                                                                              call.index))
                try:
                    async for chunk in _paced(chunks, deadline, what):
                        started = True
                        if chunk.usage is not None:
                            rel.usage.tokens(link.name, call.model, chunk.usage.prompt_tokens,
                                             chunk.usage.completion_tokens)
                            if span is not None:
                                _set_usage(span, chunk)
                        yield dataclasses.replace(chunk, provider=link.name)
                except ProviderError as exc:
                    rel.tracing.fail(child, exc)
                    if started or not call.failed(exc):
                        raise
                    if call.wait:
                        await _within(deadline, asyncio.sleep(call.wait), what)
                    continue
                finally:
                    if child is not None:
                        child.end()
                    await chunks.aclose()  # type: ignore[attr-defined]
                return
        except GeneratorExit:  # the caller stopped reading: not a failure
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(span, call, error)


async def _paced(
    chunks: AsyncIterator[GenerationChunk], deadline: Deadline | None, what: str
) -> AsyncIterator[GenerationChunk]:
    """``chunks``, each awaited under the deadline (never across a ``yield``)."""
    iterator = chunks.__aiter__()
    while True:
        try:
            chunk = await _within(deadline, iterator.__anext__(), what)
        except StopAsyncIteration:
            return
        yield chunk


class ReliableEmbeddings(_Layer, EmbeddingProvider):
    """An ``EmbeddingProvider`` over a chain of them (same dimension throughout)."""

    operation = "embeddings"

    def __init__(self, rel: Reliability, chain: Sequence[Link]) -> None:
        EmbeddingProvider.__init__(self)
        _Layer.__init__(self, rel, chain)
        self.initialized = True

    @property
    def dimension(self) -> int:
        return self._chain[0].provider.dimension  # type: ignore[attr-defined, no-any-return]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        async def attempt(provider: Any, index: int) -> list[list[float]]:
            return self._fits(await provider.embed(texts), index)

        return await self._run(attempt)

    async def embed_query(self, text: str) -> list[float]:
        async def attempt(provider: Any, index: int) -> list[float]:
            return self._fits([await provider.embed_query(text)], index)[0]

        return await self._run(attempt)

    async def _run(self, attempt: Callable[[Any, int], Awaitable[_T]]) -> _T:
        first = self._chain[0]
        deadline = self._rel.deadline()
        call = _Call(self._rel, self._chain, _model_of(first, None), deadline)
        span = self._call_span(call)
        error: BaseException | None = None
        try:
            return await _within(deadline, self._walk(call, span, attempt),
                                 f"embeddings with {first.name!r}")
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(span, call, error)

    def _fits(self, vectors: list[list[float]], index: int) -> list[list[float]]:
        if index and vectors:
            want = self.dimension
            if len(vectors[0]) != want:
                link = self._chain[index]
                raise ConfigurationError(
                    f"embeddings fallback {link.name!r} returned {len(vectors[0])}-dimensional "
                    f"vectors but {self._chain[0].name!r} returns {want}: pick a fallback "
                    "model with the same dimension"
                )
        return vectors


def build(rel: Reliability, category: str, chain: Sequence[Link]) -> Any:
    """The layer object for ``category`` over ``chain``."""
    return ReliableLLM(rel, chain) if category == "llm" else ReliableEmbeddings(rel, chain)


def check_cache_storage(storage_configured: bool) -> None:
    if not storage_configured:
        raise ConfigurationError(
            "with_cache() keeps answers in the storage provider, and none is configured: "
            "call with_storage('sqlite') (or 'postgres' for a fleet) before with_cache()"
        )

