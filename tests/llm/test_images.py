"""Images in messages: openai, openrouter and anthropic send them as their APIs expect
(the wire servers check the shape); providers that cannot see refuse them."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy import Message, MessageRole, PepperPy, ValidationError
from pepperpy.registry import ProviderRegistry
from pepperpy.testing import FakeLLM
from pepperpy.testing.wire.base import LoopbackServer


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


async def test_images_reach_the_model_in_the_vendor_shape(
        make_pepper: Callable[..., PepperPy], vendor_server: tuple[str, LoopbackServer],
        tmp_path: Path) -> None:
    vendor, server = vendor_server
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png())
    async with make_pepper(vendor, server) as pepper:
        chat = pepper.chat.with_user("What is in this picture?", images=[photo, JPEG])
        result = await chat.generate()
        assert result.content == ("Echo: What is in this picture? "
                                  "[images: image/png, image/jpeg]")
        body = server.last().body
        content = body["messages"][-1]["content"]
        if vendor == "anthropic":
            assert [b["type"] for b in content] == ["image", "image", "text"]
            assert content[0]["source"] == {"type": "base64", "media_type": "image/png",
                                            "data": base64.b64encode(_png()).decode()}
        else:
            assert [p["type"] for p in content] == ["text", "image_url", "image_url"]
            assert content[2]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        streamed = [c.content async for c in pepper.chat.with_user(
            "And now?", images=[photo]).stream()]
        assert "".join(streamed).endswith("[images: image/png]")


async def test_a_provider_that_cannot_see_refuses_images(tmp_path: Path) -> None:
    registry = ProviderRegistry()
    registry.register("llm", "blind", FakeLLM)
    async with PepperPy(registry=registry).with_llm("blind") as pepper:
        with pytest.raises(ValidationError, match="'blind' cannot see images"):
            await pepper.chat.with_user("Look", images=[_png()]).generate()
        with pytest.raises(ValidationError, match="cannot see images"):
            [c async for c in pepper.chat.with_user("Look", images=[_png()]).stream()]
        assert (await pepper.chat.with_user("No picture").generate()).content


@pytest.mark.parametrize(("image", "message"), [
    (b"GIF8", "not PNG, JPEG, GIF or WebP"), ("no/such/file.png", "cannot read image"),
    (3, "a file path or bytes"), (b"x" * (20 * 1024 * 1024 + 1), "at most")])
def test_bad_images_are_refused_before_any_request(image: object, message: str) -> None:
    registry = ProviderRegistry()
    registry.register("llm", "fake", FakeLLM)
    pepper = PepperPy(registry=registry).with_llm("fake")
    with pytest.raises(ValidationError, match=message):
        pepper.chat.with_user("Look", images=[image])
    with pytest.raises(ValidationError, match="takes a list"):
        pepper.chat.with_user("Look", images=b"\x89PNG")  # type: ignore[arg-type]


def test_images_survive_conversation_history() -> None:
    from pepperpy.llm import Image

    message = Message(MessageRole.USER, "look", images=(Image.of(_png()),))
    again = Message.from_dict(json.loads(json.dumps(message.to_dict())))
    assert again == message and again.images[0].media_type == "image/png"


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": "https://example.org/x.png"}},
    {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AAAA"}},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}])
def test_the_openai_wire_server_refuses_malformed_image_parts(part: dict, openai_server
                                                              ) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, part]}]}
    request = urllib.request.Request(openai_server.url + "/v1/chat/completions",
                                     data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
