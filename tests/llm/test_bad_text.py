"""Text with lone surrogates (what ``errors="surrogateescape"`` makes of non-UTF-8
bytes) is refused at the door with a ``ValidationError`` naming the input, never a bare
``UnicodeEncodeError`` from an SDK. (``add_files`` skips such a file by name:
``tests/documents/test_add_files.py::test_a_non_utf8_file_name_is_skipped_by_name``.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
