"""`pepperpy rag add`: the real command, through signed plugins, progress on stderr."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from .corpus import write_bad, write_good


def pepperpy(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pepperpy", *args], cwd=cwd,
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )


def test_rag_add_prints_progress_and_skips_on_stderr(plugin_env, tmp_path: Path) -> None:
    folder = write_good(tmp_path / "corpus")
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    done = pepperpy("rag", "add", "corpus", "--collection", "cli", env=plugin_env,
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("skipped ")] == [
        f"skipped {Path('corpus') / 'latin1.txt'}: latin1.txt is not UTF-8 text (byte 3 is "
        "invalid); convert it with `iconv -f LATIN1 -t UTF-8` or save it as UTF-8"]
    progress = [line for line in lines if " files, " in line]
    assert progress[-1].startswith("4/5 files") and "/s)" in progress[-1]
    assert "collection 'cli' holds" in done.stdout
    again = pepperpy("rag", "add", "corpus", "--collection", "cli", env=plugin_env,
                     cwd=tmp_path)
    assert done.stdout.split("holds")[1] == again.stdout.split("holds")[1]  # nothing new


def test_rag_add_with_nothing_readable_is_one_error_line(plugin_env, tmp_path: Path) -> None:
    write_bad(tmp_path / "bad")
    done = pepperpy("rag", "add", "bad", env=plugin_env, cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("pepperpy: error")]
    assert len(errors) == 1 and "could not read any" in errors[0]
    assert "Traceback" not in done.stderr


def test_rag_add_of_a_mistyped_path_says_so_in_the_command_s_words(tmp_path: Path) -> None:
    env = {"PEPPERPY_HOME": str(tmp_path / "home"), "PEPPERPY_AUTO_FETCH": "0"}
    done = pepperpy("rag", "add", "corpuss", env=env, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, (
        "pepperpy: error: pepperpy rag add could not read any of the 1 paths given "
        "(corpuss: no such file or folder); check the path and the working folder\n"))


def test_rag_add_in_a_home_without_plugins_names_every_missing_one_at_once(
        tmp_path: Path) -> None:
    """A first `rag add` needs three kinds of plugin: one error names them all, instead
    of one per attempt; no home and no data folder are made."""
    write_good(tmp_path / "corpus")
    env = {"PEPPERPY_HOME": str(tmp_path / "home"), "PEPPERPY_AUTO_INSTALL": "0",
           "PEPPERPY_CHECKOUT_PLUGINS": "0", "PEPPERPY_AUTO_FETCH": "0"}
    done = pepperpy("rag", "add", "corpus", env=env, cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "", done.stderr
    (line,) = done.stderr.splitlines()
    parts = line.removeprefix("pepperpy: error: ").split(" / also: ")
    assert [p.split(";")[0] for p in parts] == [
        "no embeddings provider named 'local' (available: none)",
        "no rag provider named 'chroma' (available: none)",
        "no documents loader is installed (they read the files: pdf, docx, html, markdown)"]
    assert "`pepperpy plugin install local --category embeddings`" in parts[0]
    assert "`pepperpy plugin install chroma --category rag`" in parts[1]
    assert "`pepperpy plugin install NAME --category documents`" in parts[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_rag_remove_and_add_prune_delete_the_chunks_of_files_that_are_gone(
        plugin_env, tmp_path: Path) -> None:
    folder = write_good(tmp_path / "corpus")
    args = ["--collection", "gone"]
    assert pepperpy("rag", "add", "corpus", *args, env=plugin_env, cwd=tmp_path).returncode == 0
    (folder / "bees.md").unlink()
    pruned = pepperpy("rag", "add", "corpus", "--prune", *args, env=plugin_env, cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stderr
    assert "of 1 removed files deleted" in pruned.stderr.strip().splitlines()[-1]
    held = int(pruned.stdout.rsplit("holds", 1)[1])
    removed = pepperpy("rag", "remove", "corpus/museum.html", *args, env=plugin_env,
                       cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    count = int(removed.stdout.split()[0])
    assert count > 0 and removed.stdout.endswith(f"holds {held - count}\n")
    again = pepperpy("rag", "remove", "corpus/museum.html", *args, env=plugin_env,
                     cwd=tmp_path)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert again.stderr.startswith(
        "pepperpy: error: nothing was removed: no chunks in collection 'gone' came from "
        "corpus/museum.html (chunks are matched by the file's resolved path"), again.stderr
    typo = pepperpy("rag", "remove", "corpus", "--collection", "gonne", env=plugin_env,
                    cwd=tmp_path)
    assert typo.returncode == 1 and typo.stderr == (
        "pepperpy: error: nothing was removed: collection 'gonne' holds no chunks at all, "
        "so none came from corpus; check the collection name (the one you added the files "
        "to)\n"), typo.stderr
    store = f"file:{tmp_path / 'pepperpy_data' / 'chroma' / 'chroma.sqlite3'}?mode=ro"
    with closing(sqlite3.connect(store, uri=True)) as db:
        names = {name for (name,) in db.execute("SELECT name FROM collections")}
    assert names == {"gone"}  # the mistyped name left no empty collection behind


def test_the_collection_names_in_the_examples_are_ones_the_stores_take() -> None:
    """The command's own examples and the user guide's name a collection each shipped
    store accepts (chroma needs 3 characters or more: `--collection kb` was refused)."""
    import json
    import re

    from pepperpy.cli import build_parser

    root = Path(__file__).resolve().parents[2]
    parser = build_parser(["rag", "add"])
    rag = next(a for a in parser._actions if a.dest == "command").choices["rag"]
    commands = next(a for a in rag._actions if a.dest == "rag_command").choices
    text = "".join(commands[c].format_help() for c in ("add", "remove"))
    text += (root / "docs" / "user-guide.md").read_text(encoding="utf-8")
    names = set(re.findall(r"(?:example: |\$ )pepperpy rag \w+ .*--collection (\S+)", text))
    assert names
    for store in ("rag_chroma_provider", "rag_milvus_provider"):
        manifest = json.loads((root / "plugin_src" / store / "plugin.json").read_text())
        pattern = manifest["config_schema"]["properties"]["collection"]["pattern"]
        assert all(re.search(pattern, name) for name in names), (store, names)


def test_a_collection_name_the_store_refuses_is_explained_in_words(plugin_env,
                                                                   tmp_path: Path) -> None:
    write_good(tmp_path / "corpus")
    done = pepperpy("rag", "add", "corpus", "--collection", "kb", env=plugin_env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(
        "option collection: 'kb' is not a value this option takes: Collection name (3-512 "
        "characters: letters, digits, '.', '_', '-')"), done.stderr
    assert "[A-Za-z0-9]" not in done.stderr and "Traceback" not in done.stderr


def test_rag_add_of_a_missing_path_names_the_path_before_any_provider(tmp_path: Path) -> None:
    # No plugins at all in this home: the mistyped path is still the error reported.
    home = tmp_path / "home"
    done = pepperpy("rag", "add", "corpsu", "--embeddings", "nothing-installed",
                    env={"PEPPERPY_HOME": str(home)}, cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("pepperpy: error")]
    assert len(errors) == 1 and "corpsu: no such file or folder" in errors[0], done.stderr
    assert "provider" not in errors[0] and "Traceback" not in done.stderr


def test_add_files_of_missing_paths_fails_before_any_provider_starts(tmp_path: Path) -> None:
    from pepperpy import PepperPy, ValidationError
    from pepperpy_testing import fake_registry

    # The paths are checked before the loaders, the model or the store is looked up.
    app = (PepperPy(registry=fake_registry(), data_dir=tmp_path / "data")
           .with_embeddings("hash").with_rag("memory"))
    rag = app.rag
    try:
        rag.add_files_sync([str(tmp_path / "nope"), str(tmp_path / "nor-this")])
    except ValidationError as exc:
        assert "nope: no such file or folder; and 1 more" in str(exc)
    else:
        raise AssertionError("add_files of missing paths did not fail")
    assert not (tmp_path / "data").exists()
