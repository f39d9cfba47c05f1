"""A damaged catalog cache (``indexes/NAME/catalog.json``) is only a cache: whatever shape
the damage takes, the commands that read it for a hint or a flag keep their own answer and
never fail with a bare exception."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.index_server import IndexServer, Publisher, run

_ODD = [None, 0, -1, 1.5, True, False, "", "x" * 300, [], {}, ["a"], {"a": "b"}, [[]],
        10 ** 400, "../../etc/passwd", "A" * 64]


def _good_row() -> dict[str, object]:
    return {"index": "main", "path": "weather_acme-1.0.0.pepperplugin", "length": 10,
            "sha256": "a" * 64, "name": "weather_acme", "version": "1.0.0",
            "category": "weather", "provider_name": "acme", "description": "",
            "pepperpy_compatibility": None, "python_requires": None, "key_id": "",
            "publisher": "", "publisher_key": "", "yanked": False, "yanked_reason": ""}


def _damaged_documents() -> Iterator[tuple[str, bytes]]:
    """Every level of the file with a value of the wrong type, and broken bytes."""
    good = {"refreshed_at": 1e12, "offers": [_good_row()]}
    text = json.dumps(good).encode()
    for cut in (1, 2, len(text) // 3, len(text) // 2, len(text) - 1):
        yield f"truncated at {cut}", text[:cut]
    yield "empty", b""
    yield "not UTF-8", b"\xff\xfe" + text
    yield "not JSON", b"<html>not json</html>"
    yield "NaN", b'{"refreshed_at": NaN, "offers": []}'
    yield "deep", b"[" * 5000 + b"]" * 5000
    for odd in _ODD:
        yield f"top {odd!r:.20}", json.dumps(odd).encode()
        yield f"refreshed_at {odd!r:.20}", json.dumps({**good, "refreshed_at": odd}).encode()
        yield f"offers {odd!r:.20}", json.dumps({**good, "offers": odd}).encode()
        yield f"row {odd!r:.20}", json.dumps({**good, "offers": [odd]}).encode()
        for field in _good_row():
            row = {**_good_row(), field: odd}
            yield f"{field} {odd!r:.20}", json.dumps({**good, "offers": [row]}).encode()
    for field in _good_row():
        row = {k: v for k, v in _good_row().items() if k != field}
        yield f"no {field}", json.dumps({**good, "offers": [row]}).encode()
    rng = random.Random(25)
    for n in range(40):  # random bytes flipped in a good file
        raw = bytearray(text)
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        yield f"flipped {n}", bytes(raw)


_HINT = "'weather' is a category, not a plugin, and no plugin of it is installed"
_NOT_INSTALLED = ("'weather' is not installed: no installed plugin or provider has that "
                  "name, so there is nothing to remove (installed: none); `pepperpy plugin "
                  "list` shows what is installed")
_DAMAGED = (" (the cached catalog of index 'main' is damaged; `pepperpy plugin search "
            "--refresh` rebuilds it)")


def _plant(catalog: Path, raw: bytes) -> None:
    catalog.unlink(missing_ok=True)
    catalog.write_bytes(raw)


def _check_hint(capsys: pytest.CaptureFixture[str], what: str) -> bool:
    """The command's own error, whole, on one line; whether it said the cache is
    damaged."""
    assert run("plugin", "remove", "weather") == 1, what
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, (what, err)
    offered = f"{_HINT} (your indexes offer weather_acme (provider " in err
    damaged = f"{_NOT_INSTALLED}{_DAMAGED}" in err
    assert offered or damaged or _NOT_INSTALLED in err, (what, err)
    assert not (offered and damaged), (what, err)
    assert run("plugin", "list") == 0, what  # it reads the cache for yanked flags
    capsys.readouterr()
    return damaged


@pytest.fixture
def catalog(publisher: Publisher, server: IndexServer, home: Path) -> Path:
    """The cached catalog of index 'main', which offers weather_acme (provider acme)."""
    assert run("repo", "init", publisher.folder, "--key", publisher.repo_key) == 0
    bundle = publisher.bundle("weather_acme", "1.0.0", category="weather",
                              provider_name="acme")
    assert run("repo", "add", publisher.folder, bundle, "--key", publisher.repo_key) == 0
    assert run("index", "add", "main", server.url, "--root", publisher.root) == 0
    return home / "indexes" / "main" / "catalog.json"


def test_every_damaged_catalog_keeps_the_commands_own_error(
        catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = catalog.read_bytes()
    capsys.readouterr()
    shapes = list(_damaged_documents())
    assert len(shapes) > 350
    said = 0
    for what, raw in shapes:
        _plant(catalog, raw)
        said += _check_hint(capsys, what)
    assert said > len(shapes) * 3 // 4  # most damage is named (the rest reads as valid)
    catalog.write_bytes(good)  # the good cache still gives the offer
    assert run("plugin", "remove", "weather") == 1
    assert "(your indexes offer weather_acme (provider acme))" in capsys.readouterr().err


def test_a_catalog_with_wrong_types_says_it_is_damaged_and_how_to_rebuild_it(
        catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(catalog.read_bytes())
    data["offers"][0]["name"] = ["weather_acme"]  # a list: unhashable, unsortable
    catalog.write_bytes(json.dumps(data).encode())
    capsys.readouterr()
    assert run("plugin", "remove", "weather") == 1
    err = capsys.readouterr().err
    assert f"{_NOT_INSTALLED}{_DAMAGED}" in err, err
    assert run("plugin", "search", "--refresh", "weather") == 0  # the fix it names works
    capsys.readouterr()
    assert run("plugin", "remove", "weather") == 1
    assert "(your indexes offer weather_acme (provider acme))" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["folder", "dangling", "fifo", "big", "other json"])
def test_a_planted_link_at_the_catalog_is_named_damaged_never_a_bare_error(
        target: str, catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aim = tmp_path / "aim"
    if target == "folder":
        aim.mkdir()
    elif target == "fifo":
        os.mkfifo(aim)
    elif target == "big":
        aim.write_bytes(b" " * (64 << 20) + b"{}")
    elif target == "other json":
        aim.write_bytes(json.dumps({"refreshed_at": 1e12, "offers": [
            {**_good_row(), "category": {"weather": 1}}]}).encode())
    catalog.unlink()
    catalog.symlink_to(aim)
    capsys.readouterr()
    assert _check_hint(capsys, target)  # every one of them is named as damaged


def test_the_yank_list_reads_each_cached_catalog_bounded(tmp_path: Path) -> None:
    """The digests indexes withdrew are read from every cached catalog when a bundle from
    a searched folder is checked: a FIFO planted at one catalog (a read that would wait
    forever) and a file far over the limit are skipped, and the good catalog still
    counts."""
    import threading
    from dataclasses import replace

    from pepperpy.plugins.discovery import withdrawn_digests
    from pepperpy.settings import Settings

    indexes = tmp_path / "indexes"
    for name in ("a-fifo", "b-huge", "c-good"):
        (indexes / name).mkdir(parents=True)
    os.mkfifo(indexes / "a-fifo" / "catalog.json")
    with open(indexes / "b-huge" / "catalog.json", "wb") as huge:
        huge.truncate(64 << 20)  # sparse: larger than the limit, no disk used
    yanked = {**_good_row(), "sha256": "b" * 64, "yanked": True}
    (indexes / "c-good" / "catalog.json").write_text(
        json.dumps({"refreshed_at": 1e9, "offers": [_good_row(), yanked]}))
    settings = replace(Settings.from_env(), home=tmp_path)
    found: list[frozenset[str]] = []
    reader = threading.Thread(target=lambda: found.append(withdrawn_digests(settings)),
                              daemon=True)
    reader.start()
    reader.join(10)
    stuck = reader.is_alive()
    if stuck:  # release the read it is stuck in, so no thread is left behind
        fd = os.open(indexes / "a-fifo" / "catalog.json", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        reader.join(5)
    assert not stuck, "reading the yank list waited on a FIFO planted at a catalog"
    assert found == [frozenset({"b" * 64})]
