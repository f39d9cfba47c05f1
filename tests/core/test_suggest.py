"""The "did you mean" guess compares what differs between names, not the parts that
plugin names and options share (``llm_``, ``_provider``, ``--``, ``max_``)."""

from __future__ import annotations

import pytest

from pepperpy.suggest import closest

PLUGINS = ["llm_local_provider", "llm_anthropic_provider", "rag_chroma_provider",
           "rag_milvus_provider", "embeddings_local_provider"]
PROVIDERS = ["local", "anthropic", "openrouter", "chroma", "milvus"]


@pytest.mark.parametrize(("typed", "known", "expected"), [
    ("llm_opneai_provider", [*PLUGINS, "llm_openai_provider"], "llm_openai_provider"),
    ("llm_locall_provider", PLUGINS, "llm_local_provider"),
    ("rag_chrome_provider", PLUGINS, "rag_chroma_provider"),
    ("embeddings_lcoal_provider", PLUGINS, "embeddings_local_provider"),
    ("openai_provider", [*PLUGINS, "llm_openai_provider"], "llm_openai_provider"),
    ("antropic", PROVIDERS, "anthropic"),
    ("chromaa", PROVIDERS, "chroma"),
    ("--colection", ["--collection", "--store", "--prune"], "--collection"),
    ("--debg", ["--debug", "--version", "-h"], "--debug"),
    ("max_tokns", ["max_tokens", "max_retries"], "max_tokens"),
])
def test_a_typo_gets_the_name_it_mistypes(typed: str, known: list[str], expected: str) -> None:
    assert closest(typed, known) == expected


@pytest.mark.parametrize(("typed", "known"), [
    ("llm_openai_provider", PLUGINS),  # shares llm_ and _provider with llm_local_provider
    ("llm_openrouter_provider", PLUGINS),
    ("rag_qdrant_provider", PLUGINS),
    ("llm", PLUGINS),
    ("openai", PROVIDERS),
    ("--colour", ["--collection", "--store"]),
    ("max_tokens", ["max_retries"]),
])
def test_names_that_only_share_parts_get_no_guess(typed: str, known: list[str]) -> None:
    assert closest(typed, known) is None
