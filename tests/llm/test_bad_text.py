"""Text with lone surrogates (what ``errors="surrogateescape"`` makes of non-UTF-8
bytes) is refused at the door with a ``ValidationError`` naming the input, never a bare
``UnicodeEncodeError`` from an SDK; a non-UTF-8 file names itself and the encoding."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.plugins import register_source_plugins

from pepperpy import PepperPy, ValidationError
from pepperpy.testing import fake_registry
from pepperpy.testing.wire import OpenAIServer

BAD = b"caf\xe9 menu".decode("utf-8", "surrogateescape")  # 'caf\udce9 menu'


async def test_generate_names_the_message_instead_of_failing_in_the_sdk(
    make_pepper: Callable[..., PepperPy], openai_server: OpenAIServer,
) -> None:
    async with make_pepper("openai", openai_server) as pepper:
        with pytest.raises(ValidationError, match=r"message 2 \(user\) holds a lone surrogate"):
            await pepper.chat.with_system("Be brief.").with_user(BAD).generate()
        with pytest.raises(ValidationError, match="lone surrogate"):
            async for _chunk in pepper.chat.with_user(BAD).stream():
                pass
    assert openai_server.hits == 0


async def test_learn_names_the_text() -> None:
    async with PepperPy(registry=fake_registry()).with_embeddings("hash").with_rag(
            "memory") as pepper:
        with pytest.raises(ValidationError, match="text 2 holds a lone surrogate"):
            await pepper.learn(["fine", BAD])
        assert await pepper.rag.search("fine") == []  # nothing half-added


async def test_add_files_names_a_non_utf8_file_and_the_encoding(tmp_path: Path) -> None:
    latin = tmp_path / "menu.txt"
    latin.write_bytes("café".encode("latin-1"))
    odd_name = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt"))
    odd_name.write_text("fine text")
    registry = register_source_plugins(fake_registry(), "documents_markdown_provider")
    async with PepperPy(registry=registry).with_embeddings("hash").with_rag(
            "memory") as pepper:
        with pytest.raises(ValidationError) as caught:
            await pepper.rag.add_files([latin])
        message = str(caught.value)
        assert "menu.txt" in message and "not UTF-8" in message and "byte 3" in message
        with pytest.raises(ValidationError, match=r"caf.*path holds a lone surrogate"):
            await pepper.rag.add_files([odd_name])
