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


async def test_prune_reads_only_the_chunks_of_files_the_add_did_not_read(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    """The prune after an add lists every id, but reads (``get``) only the chunks that
    are not of a file the add just read: here the removed file's and a text's, not
    the rest of the folder's. Those are still pruned by what they say (path, gone)."""
    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        text_ids = await pepper.rag.add_texts(["Ferries leave at noon."], source="notes")
        store = await pepper._store()
        gone = await store.ids({"path": str((folder / "bees.md").resolve())})
        assert gone
        (folder / "bees.md").unlink()
        read: list[str] = []
        real_get = store.get

        async def get(ids):  # type: ignore[no-untyped-def]
            read.extend(ids)
            return await real_get(ids)

        store.get = get  # type: ignore[method-assign]
        try:
            await pepper.rag.add_files([folder], prune=True)
        finally:
            del store.get
        in_prune = read[-(len(gone) + len(text_ids)):]
        assert sorted(in_prune) == sorted(gone + text_ids), read
        assert await store.ids({"path": str((folder / "bees.md").resolve())}) == []
        assert (await _by_file(pepper))["notes"] == 1


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
        with pytest.raises(ValidationError, match=r"^nothing was removed: no chunks in "
                           r"collection 'docs_[0-9a-f]+' came from .*elsewhere\.md"):
            await pepper.rag.remove([folder / "bees.md", tmp_path / "elsewhere.md"])
        with pytest.raises(ValidationError, match="a list of file and folder paths"):
            await pepper.rag.remove(str(folder))  # type: ignore[arg-type]
        assert await pepper.rag.count() == count
        # a sibling whose name starts the same is not "under" the folder
        sibling = write_good(tmp_path / "corpus2")
        await pepper.rag.add_files([sibling])
        await pepper.rag.remove([folder])
        assert await pepper.rag.count() == count


async def test_removing_a_folder_takes_the_files_add_files_read_through_its_links(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    """``add_files([kb])`` reads ``kb/shared/*`` through a link to another folder and
    stores each file under its resolved path, outside ``kb``; ``remove([kb])`` must take
    those chunks too, or the text of a "removed" folder is still searched and answered
    from (its own file removed by name, ``kb/shared/bees.md``, already is)."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "notes.md").write_text("# Ferries\n\nFerries leave the harbour at noon.\n")
    (kb / "shared").symlink_to(write_good(tmp_path / "elsewhere"), target_is_directory=True)
    async with make_app() as pepper:
        added = await pepper.rag.add_files([kb])
        assert {k for k, v in (await _by_file(pepper)).items() if v} >= {"notes.md", "bees.md"}
        await pepper.rag.add_texts(["Tides turn twice a day."], source="notes")
        removed = await pepper.rag.remove([kb])
        assert sorted(removed) == sorted(added)
        assert await _by_file(pepper) == {"notes": 1}


async def test_prune_takes_what_was_read_through_a_link_whose_target_is_gone(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    """``kb/shared`` (a link to a folder) and ``kb/bees.md`` (a link to a file) were read
    and stored under their targets' paths, outside ``kb``. Their targets deleted, the
    links left dangling: a prune of ``kb`` takes those chunks (the files are gone), and
    keeps those of a linked file that exists but its loader refuses now."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "notes.md").write_text("# Ferries\n\nFerries leave the harbour at noon.\n")
    elsewhere = write_good(tmp_path / "elsewhere")
    (kb / "shared").symlink_to(elsewhere / "sub", target_is_directory=True)
    (elsewhere / "sub").mkdir()
    (elsewhere / "museum.html").rename(elsewhere / "sub" / "museum.html")
    (kb / "bees.md").symlink_to(elsewhere / "bees.md")
    (kb / "kept.md").symlink_to(tmp_path / "kept.md")
    (tmp_path / "kept.md").write_text("# Tides\n\nTides turn twice a day.\n")
    async with make_app() as pepper:
        await pepper.rag.add_files([kb])
        before = await _by_file(pepper)
        assert {"notes.md", "museum.html", "bees.md", "kept.md"} <= set(before)
        shutil.rmtree(elsewhere / "sub")
        (elsewhere / "bees.md").unlink()
        (tmp_path / "kept.md").write_bytes("caf\xe9".encode("latin-1"))  # exists, refused
        await pepper.rag.add_files([kb])  # as before: without prune, the chunks stay
        assert await _by_file(pepper) == before
        seen: list[IngestProgress] = []
        await pepper.rag.add_files([kb], prune=True, progress=seen.append)
        assert await _by_file(pepper) == {
            k: v for k, v in before.items() if k not in ("museum.html", "bees.md")}
        assert seen[-1].files_removed == 2
        assert seen[-1].chunks_removed == before["museum.html"] + before["bees.md"]


async def test_a_folder_left_with_only_broken_links_can_be_pruned_and_removed(
    make_app: Callable[..., PepperPy], tmp_path: Path
) -> None:
    """Without prune, a folder whose only entry is a broken link is an error (nothing
    could be read); with prune it is what a prune is for. ``remove`` of the folder
    takes what was read through the link too, after the target is gone."""
    for name, folder in (("pruned", tmp_path / "a"), ("removed", tmp_path / "b")):
        elsewhere = write_good(tmp_path / f"{name}-targets")
        folder.mkdir()
        (folder / "bees.md").symlink_to(elsewhere / "bees.md")
        (folder / "museum.html").symlink_to(elsewhere / "museum.html")
        async with make_app(collection=name) as pepper:
            await pepper.rag.add_texts(["Tides turn twice a day."], source="notes")
            await pepper.rag.add_files([folder])
            before = await _by_file(pepper)
            (folder / "bees.md").unlink()  # one link removed, one left dangling
            (elsewhere / "museum.html").unlink()
            if name == "pruned":
                with pytest.raises(ValidationError, match="could not read any"):
                    await pepper.rag.add_files([folder])
                assert await pepper.rag.add_files([folder], prune=True) == []
                assert await _by_file(pepper) == {"notes": 1, "bees.md": before["bees.md"]}
            else:
                assert len(await pepper.rag.remove([folder])) == before["museum.html"]
                assert await _by_file(pepper) == {"notes": 1, "bees.md": before["bees.md"]}


@pytest.mark.parametrize("given, says", [
    ([b"docs"], r"b'docs' is not a path .*decode it first \(b'docs'.decode\(\)\)"),
    (b"docs", r"got one path \(b'docs'\); wrap it in a list"),
    ("docs", r"got one path \('docs'\); wrap it in a list: \['docs'\]"),
    ([None], "None is not a path PepperPy takes .*as str or pathlib.Path"),
    ({"docs": 1}, "got dict; pass a list of file and folder paths"),
    (["docs\x00"], r"'docs\\x00' holds a NUL character, which no file or folder name can"),
])
async def test_what_is_not_a_list_of_paths_is_refused_with_what_to_pass(
    make_app: Callable[..., PepperPy], tmp_path: Path, given: object, says: str
) -> None:
    from pepperpy.core import PepperpyError

    folder = write_good(tmp_path / "corpus")
    async with make_app() as pepper:
        await pepper.rag.add_files([folder])
        count = await pepper.rag.count()
        for call in (pepper.rag.add_files, pepper.rag.remove):
            with pytest.raises(ValidationError, match=says) as info:
                await call(given)  # type: ignore[operator]
            assert isinstance(info.value, PepperpyError)
            assert call.__name__ + "()" in str(info.value)
        assert await pepper.rag.count() == count
