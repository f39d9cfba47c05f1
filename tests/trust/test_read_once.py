"""A cold load of an installed plugin reads its bundle once, hashes it once and parses
its central directory once (discovery's index and the verified cache are warm, as in
every process after the first)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pepperpy.plugins.install import install_bundle


def test_a_cold_load_reads_hashes_and_parses_the_bundle_once(env, monkeypatch):
    from pepperpy.trust import archive, authentic

    pub = env.publisher()
    data = env.bundle(pub)
    installed = install_bundle(env.write(env.tmp / "dl", "echo.pepperplugin", data),
                               settings=env.settings).path
    env.registry().load("llm", "echo")  # the first process: fills the index and the cache
    for name in list(sys.modules):
        if name.startswith("_pepperpy_plugins."):
            del sys.modules[name]  # the next load imports again, as a new process would

    opened: list[str] = []
    parsed: list[int] = []
    hashed: list[int] = []
    real_parse, real_scan = archive.parse_central_directory, authentic.scan

    def parse(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real_parse(*args, **kwargs)

    def scan(source: Any, *args: Any, **kwargs: Any) -> Any:
        """The one pass that hashes: count the bytes it is given (the whole file in memory,
        or the chunks of a streamed read)."""
        seen: list[int] = []

        def counted() -> Any:
            for at, chunk in source:
                seen.append(len(chunk))
                yield at, chunk

        if isinstance(source, memoryview):
            seen.append(len(source))
        result = real_scan(source if isinstance(source, memoryview) else counted(), *args,
                           **kwargs)
        hashed.append(sum(seen))
        return result

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and watching and str(args[0]) == str(installed):
            opened.append(str(args[0]))

    monkeypatch.setattr(archive, "parse_central_directory", parse)
    monkeypatch.setattr(authentic, "scan", scan)
    watching = True
    sys.addaudithook(hook)
    try:
        provider = env.registry().create("llm", "echo", {"api_key": "k"})
    finally:
        watching = False
    assert type(provider).__name__ == "EchoProvider"
    assert (len(opened), hashed, len(parsed)) == (1, [len(data)], 1)
    assert Path(installed).read_bytes() == data
