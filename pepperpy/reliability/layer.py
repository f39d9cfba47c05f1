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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pepperpy.core import ConfigurationError, ProviderError, ValidationError
from pepperpy.embeddings import EmbeddingProvider
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
)
from pepperpy.reliability.deadline import Deadline, pinned
from pepperpy.reliability.deadline import _current as _current_deadline
from pepperpy.reliability.fallback import Link, falls_back
from pepperpy.reliability.retry import RetryPolicy
from pepperpy.reliability.tracing import Tracing
from pepperpy.reliability.usage import UsageTotals
from pepperpy.reliability.watchdog import Deadlines, Watchdog, current_task

if TYPE_CHECKING:
    from pepperpy.reliability.cache import ResponseCache

__all__ = ["Reliability", "ReliableEmbeddings", "ReliableLLM"]

_T = TypeVar("_T")

#: A plain chat's first step (``ReliableLLM.chat_stream``): its messages, options and
#: own deadline.
ChatStart = Callable[[], tuple[Sequence[Message], GenerationOptions, Deadline | None]]
_PLAIN = GenerationOptions()  # a placeholder until ``start()`` gives the chat's


class Reliability:
    """The settings and counters one ``PepperPy`` shares across its calls."""

    def __init__(self) -> None:
        self.retry = RetryPolicy()
        self.timeout: float | None = None
        self.cache: ResponseCache | None = None
        self.usage = UsageTotals()
        self.tracing = Tracing()
        self._deadlines: Deadlines | None = None

    def watchdog(self, deadline: Deadline, name: str, operation: str) -> Watchdog:
        """A call's watchdog, on its loop's one timer."""
        loop = asyncio.get_running_loop()
        timers = self._deadlines
        if timers is None or timers.loop() is not loop:
            timers = self._deadlines = Deadlines(loop)
        return Watchdog(timers, loop, deadline, name, operation)

    def deadline(self) -> Deadline | None:
        found = _current_deadline.get()
        if found is None and self.timeout is not None:  # Deadline.after, inline
            return Deadline(self.timeout, asyncio.get_running_loop().time() + self.timeout)
        return found


class _Call:
    """Where one request stands in its chain: which link, which attempt, what next."""

    __slots__ = (
        "attempt",
        "chain",
        "deadline",
        "fallbacks",
        "first_ns",
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
        self.first_ns = 0  # when the first attempt started (its span is made only if needed)

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


def _within(dog: Watchdog | None, awaitable: Awaitable[_T]) -> Awaitable[_T]:
    """``awaitable`` under the call's deadline, if it has one (no extra frame if not)."""
    return awaitable if dog is None else dog.run(awaitable)


class _Layer:
    """What both provider kinds share: the chain walk with its spans and counters."""

    operation = ""

    def __init__(self, rel: Reliability, chain: Sequence[Link]) -> None:
        self._rel = rel
        self._chain = tuple(chain)
        self._pepperpy_provider_name = chain[0].name

    # Attempt spans: a call answered at the first attempt has one span, its own (spans
    # cost more than the rest of the layer). Once an attempt fails, every attempt gets a
    # child span; the first one's is made then, with its real start time.
    def _attempt_span(self, call: _Call, span: Any, start_time: int | None = None) -> Any:
        return self._rel.tracing.start(f"{self.operation} {call.model}", {
            "gen_ai.operation.name": self.operation, "gen_ai.system": call.link.name,
            "gen_ai.request.model": call.model, "pepperpy.attempt": call.attempt,
            "pepperpy.fallback_index": call.index,
        }, parent=span, start_time=start_time)

    def _begin_attempt(self, call: _Call, span: Any) -> Any:
        if span is None:
            return None
        if call.attempt == 1 and call.index == 0:
            call.first_ns = time.time_ns()
            return None
        return self._attempt_span(call, span)

    def _attempt_failed(self, call: _Call, span: Any, child: Any, error: BaseException) -> None:
        """Record a failed attempt (before ``call.failed`` moves on)."""
        if span is None:
            return
        if child is None:
            child = self._attempt_span(call, span, start_time=call.first_ns)
        self._rel.tracing.fail(child, error)
        child.end()

    async def _walk(
        self, call: _Call, span: Any, attempt: Callable[[Any, int], Awaitable[_T]]
    ) -> _T:
        """Attempts until one answers; ``attempt(provider, link_index)``."""
        while True:
            link = call.next_attempt()
            provider = await link.start()
            child = None if span is None else self._begin_attempt(call, span)
            try:
                result = await attempt(provider, call.index)
            except ProviderError as exc:
                self._attempt_failed(call, span, child, exc)
                if not call.failed(exc):
                    raise
                if call.wait:
                    await asyncio.sleep(call.wait)
                continue
            except BaseException as exc:
                if child is not None:
                    self._attempt_failed(call, span, child, exc)
                raise
            if child is not None:
                child.set_attributes(_result_attributes(result))
                child.end()
            return result

    def _call_span(self, call: _Call, options: GenerationOptions | None = None) -> Any:
        tracing = self._rel.tracing
        tracer = tracing._tracer  # tracing.active(), inline: every call asks
        if not (tracer if tracer is not None else tracing._get_tracer()):
            return None
        extra = _request_attributes(options) if options is not None else {}
        return self._rel.tracing.start(f"{self.operation} {call.model}", {
            "gen_ai.operation.name": self.operation, "gen_ai.system": call.link.name,
            "gen_ai.request.model": call.model, **extra,
        })

    def _finish(
        self, span: Any, call: _Call, error: BaseException | None, result: Any = None
    ) -> None:
        if span is None:
            return
        found = _result_attributes(result)
        if call.retries or call.fallbacks:  # omitted when 0: each attribute costs ~4 us
            found.update({"pepperpy.retries": call.retries, "pepperpy.fallbacks": call.fallbacks,
                          "pepperpy.provider": call.link.name})
        span.set_attributes(found)
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


def _result_attributes(result: Any) -> dict[str, Any]:
    """GenAI response attributes of a result or a stream's last chunk."""
    found: dict[str, Any] = {}
    usage = getattr(result, "usage", None)
    if usage is not None:
        found["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        found["gen_ai.usage.output_tokens"] = usage.completion_tokens
    model = getattr(result, "model", None)
    if model:
        found["gen_ai.response.model"] = _bounded(model)
    finish = getattr(result, "finish_reason", None)
    if finish:
        found["gen_ai.response.finish_reasons"] = (_bounded(finish),)
    return found


def _bounded(value: Any) -> Any:
    """The server's words (the model it names, its finish reason) as a span carries them:
    at most 300 characters, so a megabyte of them never reaches the traces."""
    if value.__class__ is str and len(value) > 300:
        from pepperpy.http_errors import shown

        return shown(value, 300)
    return value


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
        model = options.model or first.model or "default"
        deadline = _current_deadline.get()  # rel.deadline(), inline: every call asks
        if deadline is None and rel.timeout is not None:
            deadline = Deadline(rel.timeout, asyncio.get_running_loop().time() + rel.timeout)
        # Where the call stands in its chain: made only when something reads it (a span,
        # the walk, a failure); a call answered at its first attempt needs none of it.
        call: _Call | None = None
        tracing = rel.tracing
        tracer = tracing._tracer  # tracing.active(), inline: every call asks
        span = None
        if tracer if tracer is not None else tracing._get_tracer():
            call = _Call(rel, self._chain, model, deadline)
            span = self._call_span(call, options)
            if span is not None and tracing.capture_content:  # no call when it would not act
                self._content(span, messages, None)
        error: BaseException | None = None
        result: GenerationResult | None = None
        try:
            key = None
            if rel.cache is not None:
                key, hit = await self._cached(model, messages, options)
                if hit is not None:
                    rel.usage.cache_hit(first.name, model)
                    if span is not None:
                        span.set_attribute("pepperpy.cached", True)
                    result = hit
                    return hit

            dog = rel.watchdog(deadline, first.name, "chat") if deadline is not None else None
            # The watchdog inline, not dog.run(): one coroutine less (every coroutine
            # between the caller and the SDK costs a little on each exception the SDK
            # raises inside, and SDKs raise hundreds per request); its arm() and rest()
            # are called only when they act (fired / a cancel is owed).
            try:
                if dog is not None:
                    if dog.fired:
                        dog.arm()  # raises the deadline's error
                    dog.waiting = True
                provider = None if first.ready is None else first.ready()
                if provider is None:
                    call = call or _Call(rel, self._chain, model, deadline)
                    result = await self._walk(call, span, partial(self._attempt, messages, options))
                else:
                    # Started on this loop: the first attempt without the walk's frame
                    # or start(); a failure goes on in the walk, by the same rules.
                    if call is not None:
                        call.attempt = 1  # call.next_attempt(), inline
                        if span is not None:
                            call.first_ns = time.time_ns()  # _begin_attempt of a first one
                    rel.usage.request(first.name, model, retry=False)
                    again = False
                    try:
                        if not getattr(provider, "accepts_images", False):  # no call if it does
                            refuse_unseen_images(provider, messages)
                        result = await provider.generate(messages, options)
                    except ProviderError as exc:
                        if call is None:
                            call = _Call(rel, self._chain, model, deadline)
                            call.attempt = 1
                        self._attempt_failed(call, span, None, exc)
                        if not call.failed(exc):
                            raise
                        again = True  # the walk goes on outside this handler, as it does
                    if again:
                        assert call is not None  # set by the handler above
                        if call.wait:
                            await asyncio.sleep(call.wait)
                        result = await self._walk(
                            call, span, partial(self._attempt, messages, options))
            except asyncio.CancelledError:
                if dog is not None:
                    dog.cancelled()
                raise
            finally:
                if dog is not None:
                    dog.waiting = False
                    if dog.owed:
                        dog.rest()
                    dog.close()
            assert result is not None  # for the type checker: every path above set it
            name = first.name
            if call is not None:  # the link that answered, and its model
                name, model = self._chain[call.index].name, call.model
            result.provider = name
            result.model = result.model or model
            if result.usage is not None:
                rel.usage.tokens(name, model, result.usage.prompt_tokens,
                                 result.usage.completion_tokens)
            if key is not None:  # a fallback's answer too: the key names the chain
                await rel.cache.put(key, result)  # type: ignore[union-attr]
            if span is not None:
                self._content(span, messages, result.content)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if span is not None:
                self._finish(span, call, error, result)  # type: ignore[arg-type]
        return result

    def _attempt(self, messages: Sequence[Message], options: GenerationOptions,
                 provider: Any, index: int) -> Awaitable[GenerationResult]:
        """One attempt of ``generate`` in the walk. Not a coroutine: the provider's own
        is awaited by the walk (see above on why depth costs)."""
        if not getattr(provider, "accepts_images", False):  # no call when it does
            refuse_unseen_images(provider, messages)
        if index and options.model is not None:  # _options_for, called only when it acts
            return provider.generate(messages, self._options_for(options, index))  # type: ignore[no-any-return]
        return provider.generate(messages, options)  # type: ignore[no-any-return]

    async def _cached(
        self, model: str, messages: Sequence[Message], options: GenerationOptions
    ) -> tuple[str | None, GenerationResult | None]:
        cache = self._rel.cache
        assert cache is not None
        primary = await self._chain[0].start()
        temperature = options.temperature
        if temperature is None:
            temperature = primary.config.get("temperature")
        chain = [(link.name, link.provider.config) for link in self._chain]
        key = cache.key(chain, model, messages, options, temperature)
        if key is None:
            return None, None
        return key, await cache.get(key)

    def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        # Not an async generator itself: the deadline is read now, in the caller's scope.
        return self._stream(messages, options, self._rel.deadline())

    def chat_stream(self, start: ChatStart) -> AsyncIterator[GenerationChunk]:
        """A plain chat's stream (no tools, no history), read by the caller straight from
        this layer: one generator level less on every chunk. ``start()`` runs at the first
        step, where the chat's own generator ran it: the chat's checks, then its messages,
        options and own deadline (``None``: the enclosing one). A chunk with tool calls
        (the caller's to answer) is passed on once the answer is over, as the chat does."""
        return self._stream((), _PLAIN, None, start)

    async def _stream(
        self, messages: Sequence[Message], options: GenerationOptions, deadline: Deadline | None,
        start: ChatStart | None = None,
    ) -> AsyncIterator[GenerationChunk]:
        held: GenerationChunk | None = None  # a chat's tool-call chunk, passed on last
        if start is not None:
            messages, options, own = start()
            if own is None:
                deadline = self._rel.deadline()
            else:
                with pinned(own):  # an earlier enclosing deadline still wins
                    deadline = self._rel.deadline()
        rel, first = self._rel, self._chain[0]
        call = _Call(rel, self._chain, options.model or first.model or "default", deadline)
        span = self._call_span(call, options)
        if span is not None and rel.tracing.capture_content:  # no call when it would not act
            self._content(span, messages, None)
        error: BaseException | None = None
        last: GenerationChunk | None = None
        dog = (rel.watchdog(deadline, first.name, "streaming chat") if deadline is not None
               else None)
        loop = asyncio.get_running_loop()
        waiter = current_task(loop)  # the task the watchdog cancels (dog.follow)
        try:
            while True:
                link = call.next_attempt()
                provider: Any = None if link.ready is None else link.ready()
                if provider is None:  # not started on this loop yet (or never asked)
                    provider = await _within(dog, link.start())
                if not getattr(provider, "accepts_images", False):  # no call when it does
                    refuse_unseen_images(provider, messages)
                child = None if span is None else self._begin_attempt(call, span)
                chunks = provider.generate_stream(  # _options_for, called only when it acts
                    messages, self._options_for(options, call.index)
                    if call.index and options.model is not None else options)
                try:
                    step = chunks.__aiter__().__anext__
                    name = link.name
                    while True:
                        # The watchdog inline, not dog.run() nor arm()/rest() calls: this
                        # runs once per chunk (the calls are made only when they act).
                        if dog is not None:
                            if dog.fired:
                                dog.arm()  # raises the deadline's error
                            if (task := current_task(loop)) is not waiter:
                                waiter = task  # read on by another task: the deadline too
                                dog.follow(task)  # type: ignore[arg-type]
                            dog.waiting = True
                        try:
                            chunk = await step()
                        except StopAsyncIteration:
                            break
                        except asyncio.CancelledError:
                            if dog is not None:
                                dog.cancelled()
                            raise
                        finally:
                            if dog is not None:
                                dog.waiting = False
                                if dog.owed:
                                    dog.rest()
                        last = chunk
                        if chunk.usage is not None:
                            rel.usage.tokens(name, call.model, chunk.usage.prompt_tokens,
                                             chunk.usage.completion_tokens)
                        # A plugin that tags its text chunks with its own name (the
                        # shipped ones do) has them passed through; others get a copy.
                        if chunk.provider != name or chunk.kind != "text":
                            chunk = chunk._tagged(name)
                        if start is not None and chunk.tool_calls:
                            held = chunk  # a chat's: passed on once the answer is over
                            continue
                        yield chunk
                except ProviderError as exc:
                    if last is None or child is not None:
                        self._attempt_failed(call, span, child, exc)
                        child = None
                    if last is not None or not call.failed(exc):
                        raise  # once a chunk reached the caller: no retry, no fallback
                    if call.wait:
                        await _within(dog, asyncio.sleep(call.wait))
                    continue
                except GeneratorExit:  # the caller stopped reading: the attempt ends too
                    if child is not None:
                        child.set_attributes(_result_attributes(last))
                        child.end()
                    raise
                except BaseException as exc:  # cancelled, or not the provider's failure
                    if child is not None:
                        self._attempt_failed(call, span, child, exc)
                    raise
                finally:
                    await chunks.aclose()  # type: ignore[attr-defined]
                if child is not None:
                    child.set_attributes(_result_attributes(last))
                    child.end()
                break
        except GeneratorExit:  # the caller stopped reading: not a failure
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            if dog is not None:
                dog.close()
            if span is not None:
                self._finish(span, call, error, last)
        if held is not None:  # after the call is over, as the chat passed it on
            yield held


def refuse_unseen_images(provider: Any, messages: Sequence[Message]) -> None:
    """Images for a provider that cannot see them are refused, never silently dropped."""
    if getattr(provider, "accepts_images", False) or not any(m.images for m in messages):
        return
    name = getattr(provider, "provider_name", None) or type(provider).__name__
    raise ValidationError(
        f"the llm provider {name!r} cannot see images; send them to one that can "
        "(openai or anthropic, with a vision model), or leave images= out"
    )


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
        dog = (self._rel.watchdog(deadline, first.name, "embeddings") if deadline is not None
               else None)
        try:
            return await _within(dog, self._walk(call, span, attempt))
        except BaseException as exc:
            error = exc
            raise
        finally:
            if dog is not None:
                dog.close()
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

