"""The embeddings contract: one vector per text, in order, all of ``dimension``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pepperpy.embeddings import EmbeddingProvider
from pepperpy_testing.conformance._rules import Harness, rule_list
from pepperpy_testing.conformance.common import shared_rules

__all__ = ["EMBEDDINGS_RULES"]

TEXTS = ["The cat sleeps on the sofa.", "Quarterly revenue grew by ten percent.",
         "Photosynthesis turns light into sugar."]


async def _embed_one(provider: EmbeddingProvider) -> Any:
    return await provider.embed(TEXTS[:1])


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _check_vectors(h: Harness, vectors: Any, count: int, dimension: int) -> None:
    h.check(isinstance(vectors, list), f"embed() returned {type(vectors).__name__}, not a list")
    h.check(len(vectors) == count, f"{len(vectors)} vectors for {count} texts")
    for i, vector in enumerate(vectors):
        h.check(isinstance(vector, list), f"vector {i} is {type(vector).__name__}, not a list")
        h.check(len(vector) == dimension,
                f"vector {i} has {len(vector)} numbers but dimension is {dimension}")
        h.check(all(isinstance(x, float) and math.isfinite(x) for x in vector),
                f"vector {i} holds values that are not finite floats")


rules, rule = rule_list()


@rule("embeddings.dimension",
      "`dimension` is a positive int and every vector has exactly that many floats",
      "return the model's real output size from `dimension` and convert vectors with "
      "[float(x) for x in row] (not numpy arrays)")
async def _dimension(h: Harness) -> None:
    provider = await h.open()
    dimension = provider.dimension
    h.check(isinstance(dimension, int) and dimension > 0, f"dimension is {dimension!r}")
    _check_vectors(h, await provider.embed(TEXTS), len(TEXTS), dimension)


@rule("embeddings.batch_order",
      "embed() keeps the batch's order: vector i is the one text i gets on its own",
      "return results in input order (sort by the backend's index field if it has one)")
async def _order(h: Harness) -> None:
    provider = await h.open()
    batch = await provider.embed(TEXTS)
    _check_vectors(h, batch, len(TEXTS), provider.dimension)
    for i, text in enumerate(TEXTS):
        (alone,) = await provider.embed([text])
        h.check(_cosine(batch[i], alone) > 0.99, f"vector {i} of the batch is not text {i}'s")
    h.check(_cosine(batch[0], batch[1]) < 0.9999, "different texts get the same vector")


@rule("embeddings.empty_input",
      "embed([]) returns [] without calling the backend",
      "start embed() with `if not texts: return []`")
async def _empty(h: Harness) -> None:
    result = await (await h.open()).embed([])
    h.check(result == [], f"embed([]) returned {result!r}")


@rule("embeddings.large_batch",
      "embed() takes a batch larger than any backend limit (100 texts) and returns 100 "
      "vectors",
      "split big batches into the backend's batch size inside embed()")
async def _large(h: Harness) -> None:
    provider = await h.open()
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(100)]
    _check_vectors(h, await provider.embed(texts), 100, provider.dimension)


@rule("embeddings.query",
      "embed_query() returns one vector of `dimension` floats",
      "return (await self.embed([text]))[0], with the model's query prefix if it has one")
async def _query(h: Harness) -> None:
    provider = await h.open()
    _check_vectors(h, [await provider.embed_query("what sleeps on the sofa?")], 1,
                   provider.dimension)


EMBEDDINGS_RULES = (*rules, *shared_rules("embeddings", _embed_one))
