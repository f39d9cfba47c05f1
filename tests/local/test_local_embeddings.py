"""The offline embeddings provider (int8 all-MiniLM-L6-v2) through PepperPy."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

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


async def test_count_tokens_counts_past_the_truncation(embed_pepper: PepperPy) -> None:
    """``count_tokens`` counts with the truncating tokenizer plus the pieces it cut off:
    the same as an untruncated tokenizer, at, below and far above ``max_length``."""
    from tokenizers import Tokenizer

    provider = await embed_pepper._embedder()
    whole = Tokenizer.from_str((PLUGIN_DIR / "tokenizer.json").read_text("utf-8"))
    whole.no_truncation()
    whole.no_padding()

    def untruncated(text: str) -> int:
        return len(whole.encode(text, add_special_tokens=False).ids)

    at_limit = next(t for n in range(200, 300) if untruncated(t := "word " * n) == 256)
    texts = ["", "hello", at_limit, at_limit + "word", "Quillon's lighthouse! " * 300,
             "naïve café 漢字 😀 " * 500, (PLUGIN_DIR / "README.md").read_text("utf-8") * 3]
    assert provider.max_length == 256
    assert [provider.count_tokens(t) for t in texts] == [untruncated(t) for t in texts]
    assert untruncated(texts[4]) > 3 * provider.max_length


async def test_model_loads_and_runs_on_one_thread_that_stops_with_it(
    local_registry: ProviderRegistry,
) -> None:
    """The session is built and run on the provider's own thread (what it frees while
    building is reused by its runs); cleanup ends that thread."""
    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "pepperpy-embeddings"]

    before = workers()
    async with PepperPy(registry=local_registry).with_embeddings("local") as pepper:
        provider = await pepper._embedder()
        [worker] = [t for t in workers() if t not in before]
        seen: list[str] = []
        run = provider._session.run
        provider._session = _Recording(run, seen)
        try:
            assert len(await pepper.embed(["one", "two"])) == 2
        finally:
            provider._session = run.__self__
        assert seen == ["pepperpy-embeddings"]
    worker.join(timeout=10)
    assert not worker.is_alive()


class _Recording:
    """An ONNX session stand-in that records the thread each run comes from."""

    def __init__(self, run: Any, seen: list[str]) -> None:
        self._run, self._seen = run, seen

    def run(self, *args: Any) -> Any:
        self._seen.append(threading.current_thread().name)
        return self._run(*args)


async def test_the_session_builds_scratch_is_given_back(plugin_env: dict[str, str]) -> None:
    """onnxruntime frees ~55 MB of graph-optimisation scratch once the session is built;
    the provider returns those pages to the OS, so trimming again finds little left."""
    code = (
        "import asyncio, ctypes\n"
        "from pepperpy import PepperPy\n"
        "def rss():\n"
        "    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
        "async def main():\n"
        "    async with PepperPy().with_embeddings('local'):\n"
        "        before = rss()\n"
        "        ctypes.CDLL(None).malloc_trim(0)\n"
        "        print(before - rss())\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **plugin_env},
                         capture_output=True, text=True, timeout=120, check=True)
    left_kib = int(out.stdout.split()[-1])
    assert left_kib < 16 * 1024, f"{left_kib} KiB of freed memory was still resident"
