"""OpenTelemetry spans for provider calls, following the GenAI semantic conventions.

Invariants:
- OpenTelemetry is optional and imported on the first traced call, never by
  ``import pepperpy``; without ``opentelemetry-api`` every method is a cheap no-op;
- one span per call (``{operation} {model}``, kind CLIENT) and one child span per
  attempt, so retries and fallbacks show as siblings under their call;
- attributes never hold prompts, answers or keys unless the user opted in with
  ``with_tracing(capture_content=True)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["Tracing"]

#: The span new spans hang under when no parent is given (an agent run's span).
_enclosing: ContextVar[Any] = ContextVar("pepperpy_enclosing_span", default=None)

_otel: Any = None  # the opentelemetry.trace module, False when not installed


def _trace_module() -> Any:
    global _otel, _current_context
    if _otel is None:
        try:
            from opentelemetry import context, trace
        except ImportError:
            _otel = False
        else:
            _otel, _current_context = trace, context.get_current
    return _otel


_current_context: Any = None  # opentelemetry.context.get_current, once imported


_ENV_VAR = "OTEL_PYTHON_TRACER_PROVIDER"
_ENVIRON = type(os.environ)
_ENV_KEY = os.environ.encodekey(_ENV_VAR)  # type: ignore[attr-defined]
_MISSING = object()


def _env_names_provider() -> bool:
    """Whether the environment names a tracer provider: in ``os.environ``'s own dict
    when it is the standard mapping (a miss there raises nothing)."""
    env = os.environ
    data = getattr(env, "_data", None) if type(env) is _ENVIRON else None
    return _ENV_KEY in data if data is not None else _ENV_VAR in env


class Tracing:
    """Starts spans when enabled and OpenTelemetry is importable."""

    def __init__(
        self, *, enabled: bool = True, capture_content: bool = False, tracer_provider: Any = None
    ) -> None:
        self.enabled = enabled
        self.capture_content = capture_content
        #: An OpenTelemetry TracerProvider; ``None``: the global one.
        self.tracer_provider = tracer_provider
        self._tracer: Any = None

    def _get_tracer(self) -> Any:
        if self._tracer is None:
            if self.enabled and self.tracer_provider is None:
                # Whether a global tracer provider has been set up in this process (the
                # check inline: every call asks until one is). Setting one imports
                # ``opentelemetry.trace`` (or names it in the variable OpenTelemetry
                # reads). Until then every span would be a no-op one from the proxy
                # tracer, which records nothing and costs about 10 us per call:
                # importing ``opentelemetry.trace`` is not enough (SDKs such as
                # anthropic's do it on import). Not found: asked again at the next
                # call, so a later set-up is seen.
                if "opentelemetry.trace" not in sys.modules and not _env_names_provider():
                    return False
                found = _otel if _otel is not None else _trace_module()
                if not found:
                    return False
                # OpenTelemetry's own global: until something is set (or the variable
                # names a provider to load), get_tracer_provider() returns the proxy;
                # known here without its look-up of the variable, which raises and
                # catches a KeyError each time.
                if getattr(found, "_TRACER_PROVIDER", _MISSING) is None:
                    env = os.environ  # _env_names_provider(), inline
                    data = getattr(env, "_data", None) if type(env) is _ENVIRON else None
                    if not (_ENV_KEY in data if data is not None else _ENV_VAR in env):
                        return False
                if isinstance(found.get_tracer_provider(), found.ProxyTracerProvider):
                    return False
            trace: Any = _trace_module() if self.enabled else False
            if not trace:
                self._tracer = False
            else:
                from pepperpy import __version__

                source = self.tracer_provider or trace
                self._tracer = source.get_tracer("pepperpy", __version__)
        return self._tracer

    def active(self) -> bool:
        tracer = self._tracer
        return bool(tracer if tracer is not None else self._get_tracer())

    def start(
        self, name: str, attributes: dict[str, Any], parent: Any = None,
        start_time: int | None = None,
    ) -> Any:
        """A started span (``None`` when tracing is off); ``parent`` is a span,
        ``start_time`` nanoseconds since the epoch (default: now)."""
        tracer = self._tracer if self._tracer else self._get_tracer()
        if not tracer:
            return None
        trace = _otel
        parent = parent if parent is not None else _enclosing.get()
        # The current context, read once here: given none, the SDK reads it three times
        # (its parent, the sampler, the trace state). The same context either way.
        context = (trace.set_span_in_context(parent) if parent is not None
                   else _current_context())
        return tracer.start_span(
            name, context=context, kind=trace.SpanKind.CLIENT, attributes=attributes,
            start_time=start_time,
        )

    @contextmanager
    def enclosing(self, name: str, attributes: dict[str, Any]) -> Iterator[Any]:
        """A span that every span started inside the block hangs under (an agent run:
        its model calls and tool calls), ended on the way out; ``None`` when off."""
        span = self.start(name, attributes)
        token = _enclosing.set(span) if span is not None else None
        try:
            yield span
        except BaseException as exc:
            self.fail(span, exc)
            raise
        finally:
            if token is not None:
                _enclosing.reset(token)
            if span is not None:
                span.end()

    @staticmethod
    @contextmanager
    def within(span: Any) -> Iterator[None]:
        """Spans started inside the block hang under ``span`` (already started, ended by
        its owner); a stream re-enters it at each step, so between chunks the caller's
        code never runs under it."""
        token = _enclosing.set(span) if span is not None else None
        try:
            yield
        finally:
            if token is not None:
                _enclosing.reset(token)

    @staticmethod
    def fail(span: Any, error: BaseException) -> None:
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
