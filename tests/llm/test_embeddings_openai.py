"""The openai embeddings plugin against the fake ``/v1/embeddings``."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from pepperpy import AuthenticationError, PepperPy
from pepperpy.core import ProviderError
from pepperpy.registry import ProviderRegistry
from pepperpy_testing.wire.base import Reply
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


def _answer(*items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "data": list(items), "model": "m",
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def _b64(*values: float) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _item(index: Any, embedding: Any) -> dict[str, Any]:
    return {"object": "embedding", "index": index, "embedding": embedding}


# What a broken server or gateway answered for two texts: each was a bare TypeError,
# AttributeError, ValueError or binascii.Error, or vectors passed on to the store (text,
# of two lengths, NaN, the second text's vector given to the first).
HOSTILE = {
    "data-null": {"object": "list", "data": None, "model": "m"},
    "data-object": {"object": "list", "data": {"a": 1}, "model": "m"},
    "no-data": {"object": "list", "model": "m"},
    "item-not-object": _answer([1, 2], [3, 4]),  # type: ignore[arg-type]
    "index-text": _answer(_item("a", _b64(1, 2)), _item(1, _b64(1, 2))),
    "index-twice": _answer(_item(0, _b64(1, 2)), _item(0, _b64(3, 4))),
    "index-out-of-range": _answer(_item(0, _b64(1, 2)), _item(7, _b64(3, 4))),
    "embedding-null": _answer(_item(0, None), _item(1, _b64(1, 2))),
    "embedding-not-base64": _answer(_item(0, "not base64!"), _item(1, _b64(1, 2))),
    "embedding-of-text": _answer(_item(0, ["a", "b"]), _item(1, [1.0, 2.0])),
    "embedding-object": _answer(_item(0, {"1": 2}), _item(1, [1.0, 2.0])),
    "two-lengths": _answer(_item(0, _b64(1, 2, 3)), _item(1, _b64(1, 2))),
    "empty": _answer(_item(0, []), _item(1, [])),
    "nan": _answer(_item(0, _b64(float("nan"), 2)), _item(1, _b64(1, 2))),
    "infinity": _answer(_item(0, [1e400, 2.0]), _item(1, [1.0, 2.0])),
}


class _Hostile(OpenAIServer):
    answer: Any = None

    def _embeddings(self, body: dict[str, Any], reply: Reply) -> None:
        reply.json(200, self.answer)


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_a_broken_embeddings_answer_is_a_provider_error(
    llm_registry: ProviderRegistry, case: str
) -> None:
    with _Hostile() as server:
        server.answer = HOSTILE[case]
        provider: Any = llm_registry.create("embeddings", "openai", {
            "api_key": API_KEY, "model": "m", "base_url": server.url + "/v1"})
        await provider.initialize()
        try:
            with pytest.raises(ProviderError, match="openai sent") as info:
                await provider.embed(["alpha", "beta"])
            assert API_KEY not in str(info.value) and len(str(info.value)) < 300
            # Indexes in another order, or none at all, are read as the server meant
            server.answer = _answer(_item(1, _b64(3, 4)), _item(0, _b64(1, 2)))
            assert await provider.embed(["alpha", "beta"]) == [[1.0, 2.0], [3.0, 4.0]]
            server.answer = _answer(_item(None, [1.0, 2.0]), _item(None, [3.0, 4.0]))
            assert await provider.embed(["alpha", "beta"]) == [[1.0, 2.0], [3.0, 4.0]]
        finally:
            await provider.cleanup()
