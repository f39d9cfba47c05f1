"""Chunks of files that are gone: ``rag.remove(paths)`` and ``add_files(..., prune=True)``,
on each real vector store (through the store interface: ``ids``, ``get``, ``delete``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy import PepperPy
from pepperpy.core import ValidationError
from pepperpy.ingest import IngestProgress

from .corpus import write_good


async def _by_file(pepper: PepperPy) -> dict[str, int]:
    """Stored chunks per ``source`` (file name), read back from the store."""
    store = await pepper._store()
    counts: dict[str, int] = {}
    for doc in await store.get(await store.ids({}) or []):
        name = str(doc.metadata.get("source"))
        counts[name] = counts.get(name, 0) + 1
    return counts


async def test_a_removed_file_s_chunks_go_with_prune_and_stay_without(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    seen: list[str] = []
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        await pepper.rag.add_texts(["Ferries leave at noon."], source="notes")
        before = await _by_file(pepper)
        assert before["bees.md"] > 0 and before["notes"] == 1
        (folder / "bees.md").unlink()
        again = await pepper.rag.add_files([folder])  # as before: the old chunks stay
        assert await _by_file(pepper) == before
        pruned = await pepper.rag.add_files(
            [folder], prune=True, progress=lambda s: seen.append(s.line()))
        after = await _by_file(pepper)
        assert pruned == again
        assert "bees.md" not in after
        assert after == {k: v for k, v in before.items() if k != "bees.md"}  # notes kept
        assert "honey" not in " ".join(
            r.document.text for r in await pepper.rag.search("beehive honey yield", k=10))
    assert f"{before['bees.md']} chunks of 1 removed files deleted" in seen[-1]


async def test_prune_keeps_files_that_exist_but_cannot_be_read_now(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    """Only files that are gone lose their chunks: one its loader refuses now (no
    longer UTF-8) is skipped by the add and keeps the chunks it had."""
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        before = await _by_file(pepper)
        (folder / "bees.md").write_bytes("caf\xe9".encode("latin-1"))
        await pepper.rag.add_files([folder], prune=True)
        assert await _by_file(pepper) == before


async def test_remove_takes_files_and_folders_whether_or_not_they_exist(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    states: list[IngestProgress] = []
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        await pepper.rag.add_texts(["Ferries leave at noon."], source="notes")
        before = await _by_file(pepper)
        removed = await pepper.rag.remove([folder / "museum.html"])  # a file that exists
        assert len(removed) == before["museum.html"]
        shutil.rmtree(folder)  # a folder that is gone
        removed = await pepper.rag.remove([tmp_path / "corpus"], progress=states.append)
        assert len(removed) == sum(v for k, v in before.items()
                                   if k not in ("notes", "museum.html"))
        assert await _by_file(pepper) == {"notes": 1}
        assert states[-1].files_removed == 3 and states[-1].chunks_removed == len(removed)


async def test_a_path_with_no_chunks_removes_nothing_and_says_so(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        count = await pepper.rag.count()
        with pytest.raises(ValidationError, match="no chunks in this collection came from"):
            await pepper.rag.remove([folder / "bees.md", tmp_path / "elsewhere.md"])
        with pytest.raises(ValidationError, match="a list of file and folder paths"):
            await pepper.rag.remove(str(folder))  # type: ignore[arg-type]
        assert await pepper.rag.count() == count
        # a sibling whose name starts the same is not "under" the folder
        sibling = write_good(tmp_path / "corpus2")
        await pepper.rag.add_files([sibling])
        await pepper.rag.remove([folder])
        assert await pepper.rag.count() == count
