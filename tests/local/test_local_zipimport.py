"""The embeddings plugin works when imported from a ZIP, as bundles are.

The tokenizer is package data; this proves it is read through ``importlib.resources``
from the archive (no filesystem path), and that the provider built from the zipped
code embeds like the folder one. The signed-bundle path will replace the hand-built
zip once the bundle fixture exists.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import zipfile
import zipimport
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin_src" / "embeddings_local_provider"
ZIPPED = "zipped_embeddings_local_provider"  # a name distinct from the folder import


@pytest.fixture
def zipped_provider_module(tmp_path: Path) -> Iterator[ModuleType]:
    archive = tmp_path / "embeddings_local.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(PLUGIN_DIR.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"{ZIPPED}/{path.relative_to(PLUGIN_DIR).as_posix()}")
    sys.path.insert(0, str(archive))
    try:
        yield importlib.import_module(f"{ZIPPED}.provider")
    finally:
        sys.path.remove(str(archive))
        for name in [n for n in sys.modules if n == ZIPPED or n.startswith(ZIPPED + ".")]:
            del sys.modules[name]
        sys.path_importer_cache.pop(str(archive), None)


def test_tokenizer_is_read_from_the_zip(zipped_provider_module: ModuleType) -> None:
    assert isinstance(zipped_provider_module.__loader__, zipimport.zipimporter)
    text = zipped_provider_module.load_tokenizer_json()
    assert text == (PLUGIN_DIR / "tokenizer.json").read_text("utf-8")


def test_provider_from_the_zip_embeds(zipped_provider_module: ModuleType) -> None:
    pytest.importorskip("onnxruntime")
    provider = zipped_provider_module.LocalEmbeddingProvider(batch_size=8, max_length=256)

    async def run() -> tuple[list[list[float]], int]:
        await provider.initialize()
        try:
            texts = ["A cat sits on the mat", "Quarterly revenue rose 5%"]
            return await provider.embed(texts), provider._tokenizer.get_vocab_size()
        finally:
            await provider.cleanup()

    vectors, vocab_size = asyncio.run(run())
    assert [len(v) for v in vectors] == [384, 384]
    assert vocab_size == 30522
