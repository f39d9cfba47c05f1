"""``pepper.rag.add_files`` end to end: real loaders from signed bundles, local
embeddings, each vector store; the right source (and page) comes back first."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy import PepperPy
from pepperpy.core import ValidationError
from pepperpy.ingest import IngestProgress

from .corpus import BAD, QUESTIONS, write_bad, write_docx, write_good


async def test_questions_find_their_page_or_section_first(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        ids = await pepper.rag.add_files([folder])
        assert await pepper.rag.count() == len(ids) > 0
        for question, source, page, words in QUESTIONS:
            hit = (await pepper.rag.search(question, k=1))[0].document
            assert hit.metadata["source"] == source, (question, hit.metadata)
            assert hit.metadata.get("page") == page, (question, hit.metadata)
            assert words in hit.text, (question, hit.text)


async def test_metadata_keeps_pages_headings_and_no_noise(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        ids = await pepper.rag.add_files([folder])
        store = await pepper._store()
        documents = await store.get(ids)
    by_source: dict[str, list] = {}
    for doc in documents:
        by_source.setdefault(str(doc.metadata["source"]), []).append(doc)
    assert sorted(d.metadata["page"] for d in by_source["city-report.pdf"]) == [1, 2, 3]
    docx_headings = {d.metadata.get("headings") for d in by_source["orchard-handbook.docx"]}
    assert "Orchard handbook > Storage" in docx_headings
    assert any("Gala | 14 | 5 months" in d.text for d in by_source["orchard-handbook.docx"])
    html = " ".join(d.text for d in by_source["museum.html"])
    assert "figurehead" in html and "10 am" in html
    for noise in ("cookies", "tracker", "3 am", "Home", "social media", "font-family"):
        assert noise not in html, noise
    assert {d.metadata.get("headings") for d in by_source["bees.md"]} == {
        "Beekeeping notes > Swarming", "Beekeeping notes > Honey"}


async def test_re_adding_adds_nothing_and_a_change_replaces_only_that_file(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        first = await pepper.rag.add_files([folder])
        count = await pepper.rag.count()
        again = await pepper.rag.add_files([folder])
        assert again == first and await pepper.rag.count() == count  # same ids, same order

        store = await pepper._store()
        docx_path = folder / "orchard-handbook.docx"
        before_docx = set(await store.ids({"source": "orchard-handbook.docx"}))
        others = set(first) - before_docx
        write_docx(docx_path, storage_text="Apples now stay in the cold rooms at "
                   "1 degree Celsius with controlled oxygen.")
        third = await pepper.rag.add_files([folder])
        after_docx = set(await store.ids({"source": "orchard-handbook.docx"}))
        assert set(await store.ids({"source": "city-report.pdf"})) <= others
        assert others <= set(third)  # every other file's chunks kept their ids
        assert len(after_docx - before_docx) == 1 and len(before_docx - after_docx) == 1
        assert await pepper.rag.count() == count
        hit = (await pepper.rag.search("cold room temperature for apples", k=1))[0]
        assert "1 degree" in hit.document.text


async def test_bad_inputs_are_each_named_once_and_the_rest_is_ingested(
    make_app: Callable[..., PepperPy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_good(tmp_path / "corpus")
    write_bad(folder / "bad")
    os.symlink("self", folder / "bad" / "self")  # a link to itself: ELOOP
    caplog.set_level(logging.WARNING, logger="pepperpy.rag")
    async with make_app() as pepper:
        ids = await pepper.rag.add_files([folder])
        sources = {str(d.metadata["source"]) for d in await (await pepper._store()).get(ids)}
    assert sources == {"city-report.pdf", "orchard-handbook.docx", "museum.html", "bees.md"}
    lines = [r.getMessage() for r in caplog.records if r.name == "pepperpy.rag"]
    assert all("\n" not in line for line in lines)
    for name, words in {**BAD, "self": "symlink loop"}.items():
        named = [line for line in lines if f"{Path('bad') / name}:" in line]
        assert len(named) == 1, (name, lines)
        assert words in named[0], (name, named[0])
    assert len(lines) == len(BAD) + 1  # nothing else, and .hidden.md is never read


async def test_a_hostile_file_name_stays_one_escaped_line(
    make_app: Callable[..., PepperPy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_good(tmp_path / "corpus")
    (folder / "evil\x1b[2J\nname.xyz").write_bytes(b"data")
    caplog.set_level(logging.WARNING, logger="pepperpy.rag")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pepperpy.rag"]
    assert "evil\\x1b[2J\\nname.xyz" in line and "\x1b" not in line and "\n" not in line


async def test_a_file_type_no_loader_reads_says_how_to_find_and_install_one(
    make_app: Callable[..., PepperPy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_good(tmp_path / "corpus")
    (folder / "notes.xyz").write_bytes(b"data")
    caplog.set_level(logging.WARNING, logger="pepperpy.rag")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pepperpy.rag"]
    assert line.endswith(
        "notes.xyz: no installed documents loader reads '.xyz' files (read here: .docx, "
        ".htm, .html, .markdown, .md, .pdf, .txt); `pepperpy plugin search documents` "
        "lists the loaders your indexes offer, `pepperpy plugin install NAME --category "
        "documents` installs one"), line


async def test_a_non_utf8_file_name_is_skipped_by_name(
    make_app: Callable[..., PepperPy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_good(tmp_path / "corpus")
    with open(os.fsencode(folder) + b"/caf\xe9.md", "wb") as handle:  # latin-1 name
        handle.write(b"# Cafe\n\nEspresso costs two crowns.\n")
    caplog.set_level(logging.WARNING, logger="pepperpy.rag")
    async with make_app() as pepper:
        ids = await pepper.rag.add_files([folder])
        sources = {str(d.metadata["source"]) for d in await (await pepper._store()).get(ids)}
    assert len(sources) == 4  # the four good files, stored
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pepperpy.rag"]
    assert "caf\\udce9.md" in line and "lone surrogate" in line


async def test_nothing_readable_fails_and_strict_adds_nothing(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    bad = write_bad(tmp_path / "bad")
    good = write_good(tmp_path / "good")
    async with make_app() as pepper:
        with pytest.raises(ValidationError, match="could not read any"):
            await pepper.rag.add_files([bad])
        with pytest.raises(ValidationError, match="strict=True"):
            await pepper.rag.add_files([good, bad], strict=True)
        assert await pepper.rag.count() == 0


async def test_progress_reports_files_chunks_and_rate(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    seen: list[tuple[int, int, int]] = []

    def progress(state: IngestProgress) -> None:
        seen.append((state.files_done, state.chunks, state.chunks_embedded))
        assert "files" in state.line() and state.files_total == 4

    async with make_app() as pepper:
        ids = await pepper.rag.add_files([folder], progress=progress)
    assert [files for files, _, _ in seen][:4] == [1, 2, 3, 4]
    assert seen[-1] == (4, len(ids), len(ids))


async def test_chunks_are_sized_in_the_embeddings_models_tokens(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    sentences = " ".join(f"Clause {i} of the long charter binds the guild." for i in range(400))
    (tmp_path / "charter.md").write_text(f"# Charter\n\n{sentences}\n", encoding="utf-8")
    async with make_app() as pepper:
        ids = await pepper.rag.add_files([tmp_path / "charter.md"])
        documents = await (await pepper._store()).get(ids)
        count = (await pepper._embedder()).count_tokens  # type: ignore[attr-defined]
        bodies = [d.text.split("\n", 1)[1] for d in documents]  # after the heading line
        sizes = [count(b) for b in bodies]
    assert len(documents) > 5 and max(sizes) <= 200 and min(sizes[:-1]) > 150
