"""OpenAI embeddings (and any OpenAI-compatible ``/v1/embeddings`` server)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai

from pepperpy.core import ProviderError
from pepperpy.embeddings import EmbeddingProvider
from pepperpy.openai_compatible.client import open_client
from pepperpy.openai_compatible.errors import translate_error

__all__ = ["OpenAIEmbeddingProvider"]

#: Native vector sizes, so ``dimension`` is right before the first request.
_KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


def _broken(what: str) -> ProviderError:
    return ProviderError(f"openai {what}; the server (or the gateway at base_url) is "
                         "broken: retry, or use another provider", provider="openai")


def _vectors(data: Any, count: int) -> list[list[float]]:
    """The server's vectors in the texts' order: one per text (its ``index``; in the
    order sent when no item has one), each a non-empty list of finite numbers, all of one
    length. The SDK's objects check none of it, and a vector of text, of another length,
    or with a NaN would reach the store (or the second text's vector the first text)."""
    if data.__class__ is not list:
        raise _broken(f"sent embeddings that are not a list ({type(data).__name__})")
    if len(data) != count:
        raise ProviderError(
            f"openai returned {len(data)} embeddings for {count} texts; retry, or "
            "lower batch_size if the server truncates batches",
            provider="openai",
        )
    indexes = [getattr(item, "index", None) for item in data]
    if any(i is not None for i in indexes):
        if any(i.__class__ is not int for i in indexes) or sorted(indexes) != list(range(count)):
            raise _broken("sent embeddings whose indexes are not each text's once")
        data = [item for _, item in sorted(zip(indexes, data, strict=True))]
    vectors = [getattr(item, "embedding", None) for item in data]
    size = len(vectors[0]) if vectors and vectors[0].__class__ is list else 0
    for vector in vectors:
        try:
            total = sum(vector)
        except TypeError:  # None, text, an object's keys
            total = None
        # inf - inf and nan - nan are NaN: one test for every value that is not finite
        if total is None or len(vector) != size or not size or total - total != 0:
            raise _broken("sent an embedding that is not a list of finite numbers of the "
                          "same length as the others")
    return vectors  # type: ignore[return-value]


class OpenAIEmbeddingProvider(EmbeddingProvider):
    """``with_embeddings("openai", api_key=..., model=..., dimensions=...)``.

    ``dimensions`` is sent to the API (text-embedding-3 models shorten their vectors);
    without it the model's native size is used. Texts are sent ``batch_size`` at a time.
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        organization: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        timeout: float = 60.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(
            api_key=api_key, model=model, base_url=base_url, organization=organization,
            dimensions=dimensions, batch_size=batch_size, timeout=timeout,
        )
        self._dimension = dimensions or _KNOWN_DIMENSIONS.get(model, 1536)
        self._client: openai.AsyncOpenAI | None = None

    @property
    def dimension(self) -> int:
        return self._dimension

    async def initialize(self) -> None:
        self._client = self.close_on_cleanup(open_client(self.config))
        await super().initialize()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.require_initialized()
        assert self._client is not None
        vectors: list[list[float]] = []
        size = int(self.config["batch_size"])
        for start in range(0, len(texts), size):
            vectors.extend(await self._batch(self._client, list(texts[start:start + size])))
        return vectors

    async def _batch(self, client: openai.AsyncOpenAI, texts: list[str]) -> list[list[float]]:
        extra: dict[str, Any] = {}
        if self.config.get("dimensions"):
            extra["dimensions"] = self.config["dimensions"]
        model = self.config["model"]
        try:
            response = await client.embeddings.create(model=model, input=texts, **extra)
        except openai.OpenAIError as exc:
            raise translate_error(
                exc, provider="openai", key_env="OPENAI_API_KEY", model=model,
                secret=self.config.get("api_key"),
            ) from exc
        except (ValueError, TypeError, AttributeError) as exc:  # the SDK decoding the answer
            raise _broken(f"sent embeddings the SDK cannot read ({type(exc).__name__})") from exc
        vectors = _vectors(getattr(response, "data", None), len(texts))
        if vectors and not self.config.get("dimensions"):
            self._dimension = len(vectors[0])  # trust what an unknown model really returns
        return vectors
