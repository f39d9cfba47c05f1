"""OpenTelemetry spans per call and attempt, GenAI conventions, no content by default."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from pepperpy import PepperPy
from pepperpy_testing.wire import AnthropicServer, Fault, OpenAIServer
from tests.llm.conftest import API_KEY
from tests.reliability.conftest import options

PROMPT = "my secret prompt about zebras"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced(
    pepper: PepperPy, exporter: InMemorySpanExporter, **kwargs: bool
) -> PepperPy:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return pepper.with_tracing(tracer_provider=provider, **kwargs)


async def test_a_call_with_one_retry_and_one_fallback(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    anthropic_server: AnthropicServer, exporter: InMemorySpanExporter,
) -> None:
    openai_server.inject(then=Fault(status=500))
    pepper = pepper_for("openai", openai_server).with_retry(attempts=2, backoff=0.01)
    pepper = traced(pepper.with_fallback("anthropic", **options("anthropic", anthropic_server)),
                    exporter)
    async with pepper:
        await pepper.chat.with_temperature(0).with_max_tokens(50).with_user(PROMPT).generate()
    spans = exporter.get_finished_spans()
    (call,) = [s for s in spans if s.parent is None]
    attempts = sorted((s for s in spans if s.parent is not None), key=lambda s: s.start_time)
    assert call.name == "chat openai-model" and call.kind is SpanKind.CLIENT
    assert {k: call.attributes[k] for k in (
        "gen_ai.operation.name", "gen_ai.system", "gen_ai.request.model",
        "gen_ai.request.temperature", "gen_ai.request.max_tokens", "gen_ai.response.model",
        "pepperpy.provider", "pepperpy.retries", "pepperpy.fallbacks",
    )} == {
        "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
        "gen_ai.request.model": "openai-model", "gen_ai.request.temperature": 0.0,
        "gen_ai.request.max_tokens": 50, "gen_ai.response.model": "anthropic-model",
        "pepperpy.provider": "anthropic", "pepperpy.retries": 1, "pepperpy.fallbacks": 1,
    }
    assert call.attributes["gen_ai.usage.input_tokens"] > 0
    assert call.attributes["gen_ai.usage.output_tokens"] > 0
    assert call.status.status_code is not StatusCode.ERROR
    assert all(a.parent.span_id == call.context.span_id for a in attempts)
    assert [(a.attributes["gen_ai.system"], a.attributes["pepperpy.attempt"],
             a.attributes.get("error.type")) for a in attempts] == [
        ("openai", 1, "ServerError"), ("openai", 2, "ServerError"), ("anthropic", 1, None),
    ]
    assert [a.status.status_code for a in attempts][:2] == [StatusCode.ERROR] * 2
    assert attempts[2].attributes["gen_ai.request.model"] == "anthropic-model"
    assert attempts[2].attributes["gen_ai.response.finish_reasons"] == ("stop",)
    for span in spans:  # nothing the user said or the model answered, no key
        text = json.dumps(dict(span.attributes), default=str)
        assert "zebras" not in text and "Echo" not in text and API_KEY not in text


async def test_content_only_when_asked_and_failures_marked(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    exporter: InMemorySpanExporter,
) -> None:
    pepper = traced(pepper_for("openai", openai_server), exporter, capture_content=True)
    async with pepper:
        await pepper.chat.with_user(PROMPT).generate()
        openai_server.inject(then=Fault(status=400))
        with pytest.raises(Exception, match="refused"):
            [c async for c in pepper.chat.with_user("hi").stream()]
    ok, failed = sorted((s for s in exporter.get_finished_spans() if s.parent is None),
                        key=lambda s: s.start_time)
    assert "zebras" in ok.attributes["gen_ai.input.messages"]
    assert "Echo: my secret" in ok.attributes["gen_ai.output.messages"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "BadRequestError"


async def test_a_call_inside_the_callers_span_is_its_child(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    exporter: InMemorySpanExporter,
) -> None:
    pepper = traced(pepper_for("openai", openai_server), exporter)
    tracer = pepper._reliability.tracing.tracer_provider.get_tracer("app")
    async with pepper:
        with tracer.start_as_current_span("request") as outer:
            await pepper.chat.with_user("hi").generate()
            [c async for c in pepper.chat.with_user("hi").stream()]
        await pepper.chat.with_user("alone").generate()
    spans = exporter.get_finished_spans()
    calls = [s for s in spans if s.name.startswith("chat ")]
    assert len(calls) == 3
    inside, alone = calls[:2], calls[2]
    for span in inside:
        assert span.parent is not None and span.parent.span_id == outer.context.span_id
        assert span.context.trace_id == outer.context.trace_id
    assert alone.parent is None and alone.context.trace_id != outer.context.trace_id


async def test_tracing_can_be_switched_off(
    pepper_for: Callable[..., PepperPy], openai_server: OpenAIServer,
    exporter: InMemorySpanExporter,
) -> None:
    pepper = traced(pepper_for("openai", openai_server), exporter, enabled=False)
    async with pepper:
        await pepper.chat.with_user("hi").generate()
    assert exporter.get_finished_spans() == ()


def test_import_pepperpy_imports_no_opentelemetry() -> None:
    code = ("import sys, pepperpy; pepperpy.PepperPy; pepperpy.GenerationResult; "
            "print(any(m.startswith('opentelemetry') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_global_tracing_waits_for_opentelemetry_to_be_set_up() -> None:
    """Before anything sets up OpenTelemetry a call makes no span and imports nothing;
    importing it (the anthropic SDK does) is not setting it up: still no span; a tracer
    provider set up later in the process is used from the next call on."""
    code = """
import sys
from pepperpy.reliability.tracing import Tracing
tracing = Tracing()
assert tracing.start("chat m", {}) is None and not tracing.active()
assert not any(m.startswith("opentelemetry") for m in sys.modules)
from opentelemetry import trace
assert tracing.start("chat m", {}) is None and not tracing.active()
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
tracing.start("chat m", {"gen_ai.request.model": "m"}).end()
print([s.name for s in exporter.get_finished_spans()])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['chat m']"


@pytest.mark.parametrize("environ", ["os.environ", "a plain dict"])
def test_a_provider_named_in_the_environment_later_is_used(environ: str) -> None:
    """OpenTelemetry loads the provider OTEL_PYTHON_TRACER_PROVIDER names when asked
    for one: set after the first call (in os.environ, or in a mapping that replaced
    it), it is asked for from the next call on."""
    code = f"""
import os
from opentelemetry import trace
from pepperpy.reliability.tracing import Tracing
tracing = Tracing()
assert tracing.start("chat m", {{}}) is None
if {environ == "a plain dict"!r}:
    os.environ = dict(os.environ)
os.environ["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
span = tracing.start("chat m", {{}})
print(type(span).__module__, type(trace.get_tracer_provider()).__name__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    # from a plain dict OpenTelemetry loads its no-op provider: still asked, as before
    expected = (["opentelemetry.sdk.trace", "TracerProvider"] if environ == "os.environ"
                else ["opentelemetry.trace.span", "NoOpTracerProvider"])
    assert out.stdout.split() == expected
