"""A real MCP server (the official SDK's MCPServer) for the tools tests.

Environment: ``TOOLS`` (comma-separated, in order: lookup, shout, broken, slow),
``PIDFILE`` (where to write this process's pid), ``MODE`` (``exit``: exit at once with a
message on stderr; ``hang``: never answer; ``garbage``: write a non-protocol line to
stdout first), and an optional port argument for streamable HTTP instead of stdio
(``TOKEN``: then every HTTP request must carry ``Authorization: Bearer TOKEN``, or 401).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

if os.environ.get("PIDFILE"):
    Path(os.environ["PIDFILE"]).write_text(str(os.getpid()))
if os.environ.get("MODE") == "exit":
    print("fatal: the dictionary database is missing", file=sys.stderr)
    sys.exit(3)
if os.environ.get("MODE") == "hang":
    import time

    time.sleep(3600)  # never answers the handshake
if os.environ.get("MODE") == "garbage":
    print("Starting dictionary server v1.0...", flush=True)

app = MCPServer("dictionary", log_level="ERROR")


def lookup(word: str) -> str:
    """Look a word up in the dictionary."""
    return f"meaning-of-{word}"


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


def broken(word: str) -> str:
    """A tool whose backend is down."""
    raise ToolError(f"the dictionary is closed (asked for {word})")


async def slow() -> str:
    """A tool that takes a minute."""
    await asyncio.sleep(60)
    return "finally"


for name in os.environ.get("TOOLS", "lookup").split(","):
    app.tool()({"lookup": lookup, "shout": shout, "broken": broken, "slow": slow}[name])

if __name__ == "__main__":
    if len(sys.argv) > 1 and os.environ.get("TOKEN"):
        import uvicorn
        from starlette.responses import PlainTextResponse

        inner, wanted = app.streamable_http_app(), f"Bearer {os.environ['TOKEN']}".encode()

        async def guarded(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != wanted:
                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
            await inner(scope, receive, send)

        uvicorn.run(guarded, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
    elif len(sys.argv) > 1:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    else:
        app.run()
