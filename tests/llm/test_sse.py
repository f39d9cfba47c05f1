"""``pepperpy.sse`` reads events as the vendor SDKs do: checked against the ``openai``
SDK's own decoder on generated bodies, cut into random pieces and read through httpx
(``body_lines`` over ``aiter_bytes``, as the providers read them)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from openai._streaming import SSEDecoder

from pepperpy.sse import body_lines, server_sent_events

pytestmark = pytest.mark.asyncio


class _Pieces(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def _cut(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 12))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


async def _ours(pieces: list[bytes]) -> list[tuple[str | None, str]]:
    response = httpx.Response(200, stream=_Pieces(pieces),
                              headers={"content-type": "text/event-stream"})
    return [event async for event in server_sent_events(body_lines(response.aiter_bytes()))]


async def _sdk(pieces: list[bytes]) -> list[tuple[str | None, str]]:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
    return [(sse.event or None, sse.data) async for sse in SSEDecoder().aiter_bytes(chunks())]


def _body(rng: random.Random) -> bytes:
    """Events that each have data or a name, one blank line apart (the SDK dispatches
    again on every further blank line once it has seen an ``id``)."""
    end = rng.choice(["\n", "\r\n", "\r"])
    values = ["", " ", "x", " lead", "{\"a\": 1}", "a:b", "  two", "é ✓", "[DONE]",
              "a\u2028b", "\u2029", "x\x85y", "\x0b\x0c\x1c\x1d\x1e"]  # not line ends
    lines: list[str] = []
    for _ in range(rng.randint(1, 8)):
        block = [f"event: {rng.choice(['message_start', 'ping', 'error', 'x y'])}"] \
            if rng.random() < 0.5 else []
        block += [rng.choice(["data: " + rng.choice(values), "data:" + rng.choice(values),
                              "data"]) for _ in range(rng.randint(0 if block else 1, 3))]
        extra = rng.choice([":comment", ": keep-alive", "id: 7", "retry: 10", "retry: x",
                            "unknown: 1", "id: a\0b", "datax", "data lead"])
        block.insert(rng.randint(0, len(block)), extra)
        lines += [*block, ""]
    return end.join(lines).encode() + end.encode()


@pytest.mark.parametrize("seed", range(300))
async def test_events_match_the_sdk_decoder(seed: int) -> None:
    rng = random.Random(seed)
    body = _body(rng)
    pieces = _cut(body, rng)
    assert await _ours(pieces) == await _sdk(pieces)


async def test_an_event_with_only_an_id_or_retry_is_no_event() -> None:
    body = b"id: 1\n\nretry: 5\n\n: comment\n\ndata: {}\n\n"
    assert await _ours([body]) == [(None, "{}")]


async def test_an_event_the_body_leaves_unfinished_is_dropped() -> None:
    assert await _ours([b"data: 1\n\ndata: 2\n"]) == [(None, "1")]


async def test_data_lines_join_and_one_leading_space_goes() -> None:
    body = b"event: e\ndata:  a\ndata:b\ndata\n\n"
    assert await _ours([body]) == [("e", " a\nb\n")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c",
                                       "\x1d", "\x1e"])
async def test_only_cr_and_lf_end_a_line(separator: str) -> None:
    """JSON leaves U+2028, U+2029 and U+0085 unescaped in a string (a model's text may hold
    them); ``str.splitlines``, and so ``httpx``'s ``aiter_lines``, would end the line there
    and cut the event in two. CRLF cut between two pieces is one line end."""
    data = f'{{"text": "a{separator}b"}}'
    body = f"event: e\r\ndata: {data}\r\n\r\n".encode()
    for at in range(1, len(body)):
        pieces = [body[:at], body[at:]]
        assert await _ours(pieces) == await _sdk(pieces) == [("e", data)]


@pytest.mark.parametrize("seed", range(200))
async def test_body_lines_are_the_bytes_lines_however_the_body_is_cut(seed: int) -> None:
    """``body_lines`` gives what ``bytes.splitlines`` (CR, LF, CRLF) gives for the whole
    body, decoded, whatever the cuts: a CRLF, a UTF-8 character or a line across them."""
    rng = random.Random(seed)
    parts = [b"a", b"\r", b"\n", b"\r\n", "\u2028".encode(), "\xe9".encode(), b"\xff", b" "]
    body = b"".join(rng.choice(parts) for _ in range(rng.randint(0, 30)))
    cuts = sorted(rng.choices(range(len(body) + 1), k=rng.randint(0, 10)))  # empty pieces too

    async def pieces() -> AsyncIterator[bytes]:
        for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True):
            yield body[a:b]

    assert [line async for line in body_lines(pieces())] == [
        line.decode("utf-8", "replace") for line in body.splitlines()]


async def test_a_long_line_in_tiny_pieces_is_no_hang() -> None:
    """A server may send one long line a byte at a time: each piece is split on its own
    and the line joined once when it ends. Joining the pieces so far on every piece is
    quadratic: these 300,000 pieces would take some 20 s of CPU, not a tenth of one."""
    line = b"data: " + b"x" * 300_000 + b"\n\n"

    async def pieces() -> AsyncIterator[bytes]:
        for at in range(len(line)):
            if at % 1000 == 0:
                await asyncio.sleep(0)  # the deadline below can fire
            yield line[at:at + 1]

    async def read() -> list[tuple[str | None, str]]:
        return [event async for event in server_sent_events(body_lines(pieces()))]

    assert await asyncio.wait_for(read(), 5) == [(None, "x" * 300_000)]
