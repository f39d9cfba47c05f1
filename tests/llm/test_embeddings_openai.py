"""The openai embeddings plugin against the fake ``/v1/embeddings``."""

from __future__ import annotations

import pytest

from pepperpy import AuthenticationError, PepperPy
from pepperpy_testing.wire.openai import OpenAIServer, fake_embedding
from tests.llm.conftest import API_KEY


def _pepper(registry, server: OpenAIServer, **config) -> PepperPy:
    config.setdefault("api_key", API_KEY)
    return PepperPy(registry=registry).with_embeddings(
        "openai", base_url=server.url + "/v1", **config
    )


async def test_embed_returns_the_servers_vectors(
    llm_registry, openai_server: OpenAIServer, clean_env: None
) -> None:
    async with _pepper(llm_registry, openai_server) as pepper:
        vectors = await pepper.embed(["alpha", "beta"])
        dimension = pepper._providers["embeddings"].dimension
    assert vectors == [fake_embedding("alpha", 1536), fake_embedding("beta", 1536)]
    assert dimension == 1536
    body = openai_server.last().body
    assert body["model"] == "text-embedding-3-small"
    assert body["input"] == ["alpha", "beta"]
    assert "dimensions" not in body


async def test_dimensions_and_batching(
    llm_registry, openai_server: OpenAIServer, clean_env: None
) -> None:
    texts = [f"text {i}" for i in range(5)]
    async with _pepper(llm_registry, openai_server, dimensions=64, batch_size=2) as pepper:
        vectors = await pepper.embed(texts)
        assert pepper._providers["embeddings"].dimension == 64
    assert vectors == [fake_embedding(t, 64) for t in texts]
    assert [r.body["input"] for r in openai_server.requests] == [
        ["text 0", "text 1"], ["text 2", "text 3"], ["text 4"]]
    assert {r.body["dimensions"] for r in openai_server.requests} == {64}


async def test_float_encoding_is_served_too(openai_server: OpenAIServer) -> None:
    import openai

    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=openai_server.url + "/v1")
    async with client:
        response = await client.embeddings.create(
            model="m", input="x", encoding_format="float", dimensions=8
        )
    assert openai_server.last().body["encoding_format"] == "float"
    assert response.data[0].embedding == fake_embedding("x", 8)


async def test_embedding_errors_are_translated(
    llm_registry, openai_server: OpenAIServer, clean_env: None
) -> None:
    async with _pepper(llm_registry, openai_server, model="error-401") as pepper:
        with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
            await pepper.embed(["a"])
    assert API_KEY not in str(info.value)
