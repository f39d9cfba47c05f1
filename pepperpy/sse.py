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
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["server_sent_events"]


async def server_sent_events(lines: AsyncIterable[str]) -> AsyncIterator[tuple[str | None, str]]:
    """``(event, data)`` for each event in ``lines`` (a body split into lines without
    their line ends, as ``httpx.Response.aiter_lines`` gives them). ``event`` is None
    when the event named none."""
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
