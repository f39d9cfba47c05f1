"""Server-sent events from a streamed HTTP body, decoded as the vendor SDKs decode them.

Providers that stream (OpenAI-compatible chat, Anthropic messages) read the wire through
this instead of the SDK's stream objects: the SDK still sends the request, signs it,
and raises its own errors for a refused status, but building one SDK model object per
event costs more than the rest of the request's work together. The fields are read as
the SSE specification says and as the ``openai`` and ``anthropic`` SDKs read them: a
line starting with ``:`` is a comment, ``data`` lines join with ``\\n``, one leading
space after the colon is dropped, a blank line ends an event that has data or a name,
and an event left unfinished when the body ends is dropped. ``id`` and ``retry`` are
read past (nothing reconnects here), so an event with only those is no event, as the
specification says; the SDKs would hand it on with empty data and fail to parse it.

Lines end only at CR, LF or CRLF (``body_lines``), as the specification and both SDKs
end them: ``httpx``'s ``aiter_lines`` also ends a line at U+2028, U+2029, U+0085 and
the ASCII separators, which JSON carries unescaped inside a string, so a model's text
holding a line separator would cut its event in two.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["body_lines", "server_sent_events"]


async def body_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """The lines of a body read as ``chunks`` of bytes (``httpx.Response.aiter_bytes``),
    without their line ends: split at CR, LF and CRLF only (a CRLF cut between two
    chunks is one line end), before decoding, so no other character ends a line; text
    that is not UTF-8 is replaced, as ``aiter_lines`` and the specification decode it.
    A line that arrives in many pieces is joined once, when it ends (each chunk is
    split on its own: never the pieces so far again, which a server sending one long
    line a byte at a time would make quadratic)."""
    pending: list[bytes] = []  # the pieces of the line not ended yet
    after_cr = False  # the last chunk ended with CR: a LF opening the next one is its pair
    async for chunk in chunks:
        if after_cr and chunk:
            after_cr = False
            if chunk[0] == 10:  # LF
                chunk = chunk[1:]
        if not chunk:
            continue
        lines = chunk.splitlines()  # bytes: CR, LF and CRLF only
        end = chunk[-1]
        after_cr = end == 13
        ended = end == 10 or after_cr
        if not ended and len(lines) == 1:  # no line end in this chunk
            pending.append(chunk)
            continue
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending = []
        if not ended:
            pending.append(lines.pop())
        for line in lines:
            yield line.decode("utf-8", "replace")
    if pending:
        yield b"".join(pending).decode("utf-8", "replace")


async def server_sent_events(lines: AsyncIterable[str]) -> AsyncIterator[tuple[str | None, str]]:
    """``(event, data)`` for each event in ``lines`` (a body split into lines without
    their line ends: ``body_lines(response.aiter_bytes())``). ``event`` is None when
    the event named none."""
    event: str | None = None
    data: list[str] = []
    async for line in lines:
        if line:
            if line.startswith("data: "):  # nearly every line: the fast path
                data.append(line[6:])
            elif line[0] != ":":  # not a comment
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
        elif data or event:
            yield event or None, "\n".join(data)
            event, data = None, []
