"""The offline embeddings provider (int8 all-MiniLM-L6-v2) through PepperPy."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from pepperpy import PepperPy
from pepperpy.core import ValidationError
from pepperpy.registry import ProviderRegistry
from pepperpy.trust.sealed import SealedImporter

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFERENCE = Path(__file__).parent / "data" / "minilm_float_reference.json"
PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin_src" / "embeddings_local_provider"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


async def test_dimension_and_unit_norm(embed_pepper: PepperPy) -> None:
    vectors = await embed_pepper.embed(["hello world", "", "a " * 400])
    assert len(vectors) == 3
    assert all(len(v) == 384 for v in vectors)
    for vector in vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-5)
    provider = await embed_pepper._embedder()
    assert provider.dimension == 384


async def test_related_sentences_score_higher(embed_pepper: PepperPy) -> None:
    cat, kitten, revenue = await embed_pepper.embed(
        ["A cat sits on the mat", "A kitten is lying on a rug", "Quarterly revenue rose 5%"]
    )
    related = cosine(cat, kitten)
    assert related > 0.4
    assert related > cosine(cat, revenue) + 0.3
    assert related > cosine(kitten, revenue) + 0.3


async def test_batch_equals_one_by_one(embed_pepper: PepperPy) -> None:
    texts = [
        "short",
        "a somewhat longer sentence that needs more padding in a batch",
        "PepperPy embeds offline.",
        "x " * 300,  # truncated at 256 tokens
    ]
    batch = await embed_pepper.embed(texts)
    for text, vector in zip(texts, batch, strict=True):
        (alone,) = await embed_pepper.embed([text])
        assert max(abs(a - b) for a, b in zip(alone, vector, strict=True)) < 1e-5


async def test_batches_larger_than_batch_size_keep_order(
    local_registry: ProviderRegistry,
) -> None:
    texts = [f"sentence number {i} " + "word " * (i % 7) for i in range(23)]
    async with PepperPy(registry=local_registry).with_embeddings("local", batch_size=4) as small:
        chunked = await small.embed(texts)
    async with PepperPy(registry=local_registry).with_embeddings("local", batch_size=64) as big:
        whole = await big.embed(texts)
    for a, b in zip(chunked, whole, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5


async def test_agrees_with_the_float_model(embed_pepper: PepperPy) -> None:
    """Cosine >= 0.99 with vectors of the float32 model computed in plain numpy."""
    cases = json.loads(REFERENCE.read_text("utf-8"))["cases"]
    vectors = await embed_pepper.embed([c["text"] for c in cases])
    for case, vector in zip(cases, vectors, strict=True):
        assert cosine(vector, case["vector"]) >= 0.99, case["text"]


async def test_tokenizer_matches_the_reference_ids(embed_pepper: PepperPy) -> None:
    provider = await embed_pepper._embedder()
    for case in json.loads(REFERENCE.read_text("utf-8"))["cases"]:
        assert provider._tokenizer.encode(case["text"]).ids == case["ids"]


async def test_empty_batch_and_bad_input(embed_pepper: PepperPy) -> None:
    assert await embed_pepper.embed([]) == []
    with pytest.raises(ValidationError):
        await embed_pepper.embed("not a list")  # type: ignore[arg-type]


async def test_missing_model_path_is_a_config_error(
    local_registry: ProviderRegistry, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.onnx"
    pepper = PepperPy(registry=local_registry).with_embeddings("local", model_path=str(missing))
    with pytest.raises(ValidationError, match="model_path"):
        async with pepper:
            pass


async def test_tokenizer_is_read_from_the_signed_zip(embed_pepper: PepperPy) -> None:
    """The bundle's code runs from the ZIP, and its tokenizer is package data in it."""
    provider = await embed_pepper._embedder()
    module = sys.modules[type(provider).__module__]
    assert isinstance(module.__loader__, SealedImporter)  # the verified bytes, in memory
    assert module.load_tokenizer_json() == (PLUGIN_DIR / "tokenizer.json").read_text("utf-8")
    assert provider._tokenizer.get_vocab_size() == 30522
