"""End to end, offline: local LLM, local embeddings, chroma and sqlite from signed bundles."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy import PepperPy
from pepperpy.demo import QUESTIONS

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"


def offline_app(registry, data_dir: Path, store: str = "chroma") -> PepperPy:
    return (
        PepperPy(registry=registry, data_dir=data_dir, conversation_id="e2e")
        .with_llm("local", max_tokens=48, temperature=0.0)
        .with_embeddings("local")
        .with_rag(store, collection="e2e")
        .with_storage("sqlite")
    )


@pytest.mark.slow
async def test_answers_from_the_corpus_citing_the_right_source(
    plugin_registry, tmp_path: Path
) -> None:
    async with offline_app(plugin_registry, tmp_path) as pepper:
        await pepper.rag.add_files([CORPUS])  # Markdown, a PDF and a Word document
        for question, expected_source, page in QUESTIONS:
            answer = await pepper.ask(question, k=1)
            found = answer.sources[0].document.metadata
            assert (found["source"], found.get("page")) == (expected_source, page)
            assert answer.content.strip()
        answer = await pepper.ask("How tall is the Quillon Harbor lighthouse?", k=1)
        assert "41" in answer.content
        history = await pepper.history()
    assert len(history) == 2 * (len(QUESTIONS) + 1)
    assert history[0].content == QUESTIONS[0][0]
    assert (tmp_path / "storage.sqlite3").exists() and (tmp_path / "chroma").is_dir()


@pytest.mark.slow
@pytest.mark.parametrize("store", ["chroma", "milvus"])
async def test_a_second_run_reuses_the_stored_knowledge(
    plugin_registry, tmp_path: Path, store: str
) -> None:
    files = [CORPUS]
    async with offline_app(plugin_registry, tmp_path, store) as pepper:
        first = await pepper.rag.add_files(files)
        assert await pepper.rag.count() == len(first)
    async with offline_app(plugin_registry, tmp_path, store) as pepper:
        again = await pepper.rag.add_files(files)
        assert again == first and await pepper.rag.count() == len(first)
        hits = await pepper.rag.search("boat race between the mill and the bridge", k=1)
        ferry = await pepper.rag.search("first ferry of the day to Osk Island", k=1)
    assert hits[0].document.metadata["source"] == "river-festival.md"
    assert (ferry[0].document.metadata["source"], ferry[0].document.metadata["page"]) == (
        "quillon-guide.pdf", 2)
