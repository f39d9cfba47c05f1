"""The conformance suite itself: the fakes pass it, and each broken provider fails the
rule it breaks, with a message naming that rule and its fix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pepperpy.core import BaseProvider, ConfigurationError, ValidationError
from pepperpy.llm import GenerationChunk, GenerationOptions, GenerationResult, Message
from pepperpy.rag import SearchResult
from pepperpy.registry import ProviderRegistry
from pepperpy.testing import FakeLLM, HashEmbeddings, MemoryStorage, MemoryStore
from pepperpy.testing.conformance import (
    EmbeddingsConformance,
    LLMConformance,
    RAGConformance,
    StorageConformance,
    Subject,
    rules_for,
    run_rule,
    run_rules,
)

FAKES = {"llm": FakeLLM, "embeddings": HashEmbeddings, "rag": MemoryStore,
         "storage": MemoryStorage}


def subject(category: str, cls: type[BaseProvider], **kw: Any) -> Subject:
    registry = ProviderRegistry()
    registry.register(category, "x", cls)
    return Subject(category, lambda c: registry.create(category, "x", c), lambda _: {}, **kw)


def outcome_of(category: str, cls: type[BaseProvider], rule_id: str, tmp_path: Path) -> Any:
    (rule,) = [r for r in rules_for(category) if r.id == rule_id]
    return run_rule(rule, subject(category, cls), tmp_path)


@pytest.mark.parametrize("category", sorted(FAKES))
def test_the_fakes_pass_every_rule(category: str) -> None:
    report = run_rules(subject(category, FAKES[category]))
    assert report.ok, [o.detail for o in report.failed]
    assert len([o for o in report.outcomes if o.status == "passed"]) >= 9


# -- deliberately broken providers ----------------------------------------------------


class SilentStream(FakeLLM):
    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        return
        yield  # an async generator that yields nothing


class TwoFinals(FakeLLM):
    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        yield GenerationChunk("a", finish_reason="stop")
        yield GenerationChunk("b", finish_reason="stop")


class NoUsage(FakeLLM):
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        return GenerationResult(content="hi")


class CleanupRaises(FakeLLM):
    async def cleanup(self) -> None:
        await super().cleanup()
        raise RuntimeError("socket already closed")


class CleanupNeedsInitialize(FakeLLM):
    async def initialize(self) -> None:
        self.client = object()
        await super().initialize()

    async def cleanup(self) -> None:
        del self.client  # AttributeError when initialize never ran
        await super().cleanup()


class ForgetsSuperInitialize(FakeLLM):
    async def initialize(self) -> None:
        pass


class StuckAfterCancel(FakeLLM):
    busy = False

    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        if self.busy:
            raise RuntimeError("a request is already running")
        self.busy = True
        await asyncio.sleep(0.05)
        self.busy = False
        return await super().generate(messages, options)


class NeedsAUser(FakeLLM):
    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        next(m for m in messages if m.role.value == "user")  # StopIteration -> RuntimeError
        return await super().generate(messages, options)


class IgnoresK(MemoryStore):
    async def search(self, embedding: Sequence[float], *, k: int = 4,
                     where: dict[str, Any] | None = None) -> list[SearchResult]:
        return await super().search(embedding, k=100, where=where)


class IgnoresWhere(MemoryStore):
    async def search(self, embedding: Sequence[float], *, k: int = 4,
                     where: dict[str, Any] | None = None) -> list[SearchResult]:
        return await super().search(embedding, k=k)


class AppendsOnAdd(MemoryStore):
    async def add(self, documents: Sequence[Any], embeddings: Sequence[Any]) -> list[str]:
        for document, vector in zip(documents, embeddings, strict=True):
            self._rows[f"{document.id}-{len(self._rows)}"] = (document, list(vector))
        return [d.id for d in documents]


class WrongDimension(HashEmbeddings):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [vector[:-1] for vector in await super().embed(texts)]


class ReversedBatch(HashEmbeddings):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return list(reversed(await super().embed(texts)))


class EmptyInputCallsBackend(HashEmbeddings):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            raise ValueError("input must not be empty")  # what vendor APIs answer
        return await super().embed(texts)


class ListIgnoresPrefix(MemoryStorage):
    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        return await super().list(namespace)


class LikePrefix(MemoryStorage):
    """Treats `_` as a wildcard, as an unescaped SQL LIKE does."""

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        import fnmatch

        pattern = prefix.replace("_", "?") + "*"
        keys = await super().list(namespace)
        return [k for k in keys if fnmatch.fnmatchcase(k, pattern)]


class SharedNamespaces(MemoryStorage):
    async def put(self, namespace: str, key: str, value: Any) -> None:
        await super().put("all", key, value)

    async def get(self, namespace: str, key: str) -> Any:
        return await super().get("all", key)


class RaisesTypeError(MemoryStorage):
    async def put(self, namespace: str, key: str, value: Any) -> None:
        import json

        json.dumps(value)  # TypeError, not a PepperpyError
        await super().put(namespace, key, value)


class LosesConcurrentPuts(MemoryStorage):
    async def put(self, namespace: str, key: str, value: Any) -> None:
        snapshot = dict(self._data)
        await asyncio.sleep(0)
        snapshot[(namespace, key)] = __import__("json").dumps(value)
        self._data = snapshot  # last writer wins the whole dict


BROKEN = [
    ("llm", SilentStream, "llm.stream.yields_chunks", "the stream yielded nothing"),
    ("llm", TwoFinals, "llm.stream.final_chunk", "2 chunks carry a finish_reason"),
    ("llm", NoUsage, "llm.generate.usage", "usage is None"),
    ("llm", CleanupRaises, "llm.lifecycle.initialize_then_cleanup", "socket already closed"),
    ("llm", CleanupNeedsInitialize, "llm.lifecycle.cleanup_after_failed_initialize",
     "AttributeError"),
    ("llm", ForgetsSuperInitialize, "llm.lifecycle.initialize_then_cleanup",
     "`initialized` is False"),
    ("llm", StuckAfterCancel, "llm.cancel.usable_after_cancel", "already running"),
    ("llm", NeedsAUser, "llm.errors.bad_conversation", "RuntimeError"),
    ("rag", IgnoresK, "rag.search_k", "k=2 gave 4 results"),
    ("rag", IgnoresWhere, "rag.search_where", "where={'lang': 'fr'}"),
    ("rag", AppendsOnAdd, "rag.idempotent_ids", "count() is 8"),
    ("embeddings", WrongDimension, "embeddings.dimension", "vector 0 has 63 numbers"),
    ("embeddings", ReversedBatch, "embeddings.batch_order", "vector 0 of the batch"),
    ("embeddings", EmptyInputCallsBackend, "embeddings.empty_input", "ValueError"),
    ("storage", ListIgnoresPrefix, "storage.list_prefix", "list(prefix='a%')"),
    ("storage", LikePrefix, "storage.list_prefix", "list(prefix='a_')"),
    ("storage", SharedNamespaces, "storage.namespaces", "namespace"),
    ("storage", RaisesTypeError, "storage.errors.not_json", "TypeError"),
    ("storage", LosesConcurrentPuts, "storage.concurrent_puts", "of 80"),
]


@pytest.mark.parametrize(("category", "cls", "rule_id", "found"), BROKEN,
                         ids=[case[1].__name__ for case in BROKEN])
def test_a_broken_provider_fails_the_rule_it_breaks(
    category: str, cls: type[BaseProvider], rule_id: str, found: str, tmp_path: Path
) -> None:
    outcome = outcome_of(category, cls, rule_id, tmp_path)
    assert outcome.status == "failed"
    assert outcome.detail.startswith(f"[{rule_id}] ")
    assert found in outcome.detail
    assert "Fix: " in outcome.detail
    healthy = outcome_of(category, FAKES[category], rule_id, tmp_path / "healthy")
    assert healthy.status == "passed"  # the same rule passes on the fake it was made from


SECRET = "sk-conformance-SECRET-42"


class LogsItsKey(FakeLLM):
    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        import logging

        logging.getLogger("vendor.sdk").debug("auth header: Bearer %s", self.config["api_key"])
        return await super().generate(messages, options)


class KeyInResult(FakeLLM):
    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        result = await super().generate(messages, options)
        result.metadata["request"] = {"headers": {"x-api-key": self.config["api_key"]}}
        return result


class KeyInCause(FakeLLM):
    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        from pepperpy.core import ProviderError

        try:
            raise RuntimeError(f"401 for key {self.config['api_key']}")
        except RuntimeError as exc:
            raise ProviderError("the service refused the key") from exc


class KeyInRepr(FakeLLM):
    def __repr__(self) -> str:
        return f"<KeyInRepr {self.config}>"


class KeyInEveryError(FakeLLM):
    async def generate(self, messages: Sequence[Message], options: GenerationOptions
                       ) -> GenerationResult:
        raise RuntimeError(f"boom with {self.config['api_key']}")


@pytest.mark.parametrize(("cls", "where"), [
    (LogsItsKey, "a log record of 'vendor.sdk'"), (KeyInResult, "the result of a call"),
    (KeyInCause, "the error a call raised"), (KeyInRepr, "repr(provider)")],
    ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_a_provider_that_leaks_a_secret_fails_and_the_report_masks_it(
        cls: type[BaseProvider], where: str, tmp_path: Path) -> None:
    (rule,) = [r for r in rules_for("llm") if r.id == "llm.errors.secrets_hidden"]
    schema = {"type": "object", "properties": {"api_key": {"type": "string", "secret": True},
                                               "replies": {"type": "array"}}}

    def subject_of(provider: type[BaseProvider]) -> Subject:
        registry = ProviderRegistry()
        registry.register("llm", "x", provider)
        return Subject("llm", lambda c: registry.create("llm", "x", c),
                       lambda _: {"api_key": SECRET}, config_schema=schema)

    outcome = run_rule(rule, subject_of(cls), tmp_path)
    assert outcome.status == "failed", outcome
    assert f"a secret value in {where}" in outcome.detail
    assert SECRET not in outcome.detail
    assert run_rule(rule, subject_of(FakeLLM), tmp_path / "ok").status == "passed"
    leaky = run_rule(next(r for r in rules_for("llm") if r.id == "llm.generate.usage"),
                     subject_of(KeyInEveryError), tmp_path / "masked")
    assert leaky.status == "failed" and "boom with ***" in leaky.detail
    assert SECRET not in leaky.detail


def test_cleanup_that_raises_is_reported_on_every_rule_that_opened_it(tmp_path: Path) -> None:
    outcome = outcome_of("llm", CleanupRaises, "llm.generate.usage", tmp_path)
    assert outcome.status == "failed"
    assert "llm.lifecycle.initialize_then_cleanup" in outcome.detail


def test_tools_are_required_only_when_declared(tmp_path: Path) -> None:
    (rule,) = [r for r in rules_for("llm") if r.id == "llm.tools"]
    assert run_rule(rule, subject("llm", FakeLLM), tmp_path).status == "passed"
    declared = run_rule(rule, subject("llm", FakeLLM, features=frozenset({"tools"})), tmp_path)
    assert declared.status == "failed" and "no tool calls" in declared.detail


def test_a_hung_call_fails_its_rule_with_the_time_limit(tmp_path: Path) -> None:
    class Hangs(FakeLLM):
        async def generate(self, messages: Any, options: Any) -> GenerationResult:
            await asyncio.sleep(60)
            raise AssertionError("unreachable")

    (rule,) = [r for r in rules_for("llm") if r.id == "llm.generate.result"]
    outcome = run_rule(rule, subject("llm", Hangs, timeout=0.3), tmp_path)
    assert outcome.status == "failed" and "no result in 0.3s" in outcome.detail


def test_unknown_category_and_wire_are_refused() -> None:
    with pytest.raises(ValidationError, match="invalid provider category 'Vision!'"):
        rules_for("Vision!")
    assert {r.id for r in rules_for("vision")} >= {"vision.lifecycle.initialize_then_cleanup"}
    with pytest.raises(ValidationError, match="unknown wire protocol 'grpc'"):
        subject("llm", FakeLLM, wire="grpc")


# -- the pytest base classes ------------------------------------------------------------


class TestFakeLLMThroughTheBaseClass(LLMConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "llm.errors.provider_errors": "an in-process fake: no service",
        "llm.errors.secrets_hidden": "an in-process fake: no credential",
    }
    provider_class = FakeLLM


class TestMemoryStoreThroughTheBaseClass(RAGConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "rag.errors.provider_errors": "an in-process fake: no service",
        "rag.errors.secrets_hidden": "an in-process fake: no credential",
    }
    provider_class = MemoryStore


class TestHashEmbeddingsThroughTheBaseClass(EmbeddingsConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "embeddings.errors.provider_errors": "an in-process fake: no service",
        "embeddings.errors.secrets_hidden": "an in-process fake: no credential",
    }
    provider_class = HashEmbeddings
    config = {"dimension": 32}


class TestMemoryStorageThroughTheBaseClass(StorageConformance):
    not_applicable: ClassVar[dict[str, str]] = {
        "storage.errors.provider_errors": "an in-process fake: no service",
        "storage.errors.secrets_hidden": "an in-process fake: no credential",
    }
    provider_class = MemoryStorage


def test_base_class_reports_a_broken_rule_as_a_readable_failure(tmp_path: Path) -> None:
    class Broken(LLMConformance):
        provider_class = SilentStream

    with pytest.raises(pytest.fail.Exception, match=r"\[llm.stream.yields_chunks\]"):
        Broken().test_llm_stream_yields_chunks(tmp_path)
    Broken().test_llm_generate_usage(tmp_path)  # the unbroken rules still pass


def test_every_rule_has_a_test_method_with_its_name() -> None:
    for suite in (LLMConformance, EmbeddingsConformance, RAGConformance, StorageConformance):
        for rule in rules_for(suite.category):
            assert callable(getattr(suite, "test_" + rule.id.replace(".", "_")))


def test_not_applicable_removes_the_rule_and_refuses_unknown_ids() -> None:
    assert TestFakeLLMThroughTheBaseClass.test_llm_errors_provider_errors is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="not a llm rule"):
        class Wrong(LLMConformance):
            not_applicable: ClassVar[dict[str, str]] = {"llm.no.such_rule": "typo"}
