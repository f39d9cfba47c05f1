"""Tools from a Model Context Protocol server, through the official ``mcp`` SDK.

Invariants:
- the connection (and a stdio server's process) lives in one task started by
  ``initialize()`` and ended by ``cleanup()``: the SDK's transports are anyio task
  groups that must be entered and left by the same task, so calls from any task go
  through the session while that task holds the connection open;
- ``cleanup()`` always ends that task, and the SDK stops the server process on the
  way out (shielded from cancellation), so no process outlives the PepperPy object,
  whether its body finished, raised or was cancelled;
- a server that exits, hangs or writes anything but MCP messages to stdout at start
  fails ``initialize()`` with a ``ProviderError`` quoting its stderr; during a call, a
  tool's failure is an error result, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from pepperpy.core import ProviderError, ValidationError
from pepperpy.llm import Tool
from pepperpy.tools import ToolResult, ToolsProvider

__all__ = ["MCPToolsProvider"]

_STDERR_TAIL = 600  # characters of a failed server's stderr quoted in the error


class MCPToolsProvider(ToolsProvider):
    """``with_tools("mcp", command=[...])`` or ``with_tools("mcp", url="http://.../mcp")``."""

    def __init__(
        self,
        *,
        command: list[str] | None = None,
        url: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        headers: dict[str, str] | None = None,
        start_timeout: float = 30.0,
        call_timeout: float = 60.0,
    ) -> None:
        if (command is None) == (url is None):
            raise ValidationError(
                "the mcp tools provider needs exactly one of command=[...] (a stdio server) "
                "or url='http://.../mcp' (a streamable HTTP server)"
            )
        if command is not None and (not command or not all(
                isinstance(part, str) and part for part in command)):
            raise ValidationError(
                f"mcp command= takes the program and its arguments as non-empty strings, "
                f"e.g. ['python', 'server.py'], got {command!r}")
        if env is not None and not all(
                isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise ValidationError("mcp env= takes string names and string values")
        if headers is not None:
            _check_headers(headers, url)
        super().__init__(command=command, url=url, env=env, cwd=cwd, headers=headers,
                         start_timeout=start_timeout, call_timeout=call_timeout)
        self._session: mcp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._stderr: Any = None
        self._http_status: int | None = None
        self._tools: list[Tool] | None = None

    @property
    def _label(self) -> str:
        command, url = self.config["command"], self.config["url"]
        return f"MCP server {' '.join(command)!r}" if command else f"MCP server at {url}"

    async def initialize(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        if self.config["command"]:
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self._task = asyncio.create_task(self._hold(ready), name=f"pepperpy {self._label}")
        try:
            async with asyncio.timeout(float(self.config["start_timeout"])):
                await asyncio.shield(ready)
        except BaseException as exc:
            error = self._start_error(exc)
            await self._end()
            if ready.done() and not ready.cancelled():
                ready.exception()  # retrieved: the error raised below reports it
            raise error from exc
        await super().initialize()

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        """Open the transport and session, then keep them open until ``cleanup()``."""

        async def on_message(message: Any) -> None:
            if isinstance(message, Exception) and not ready.done():
                ready.set_exception(ProviderError(
                    f"the {self._label} wrote a line to stdout that is not an MCP message; "
                    "a stdio server keeps stdout for the protocol and logs to stderr",
                    provider="mcp"))

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(
                    mcp.ClientSession(read, write, message_handler=on_message))
                await session.initialize()
                self._session = session
                if not ready.done():
                    ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, Exception):
                    ready.set_exception(exc)
                else:
                    ready.cancel()
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    def _transport(self) -> Any:
        if self.config["url"]:
            return self._http_transport()
        program, *args = self.config["command"]
        params = StdioServerParameters(command=program, args=args, env=self.config["env"],
                                       cwd=self.config["cwd"])
        return stdio_client(params, errlog=self._stderr)

    @contextlib.asynccontextmanager
    async def _http_transport(self) -> AsyncIterator[Any]:
        """The streamable HTTP transport on the SDK's client (its timeouts), sending
        ``headers`` with every request; an HTTP error status is kept for the message."""

        async def seen(response: Any) -> None:
            if response.status_code >= 400:
                self._http_status = response.status_code

        headers = self.config["headers"]
        async with create_mcp_http_client(headers=dict(headers) if headers else None) as client:
            client.event_hooks = {"request": [], "response": [seen]}
            async with streamable_http_client(self.config["url"], http_client=client) as streams:
                yield streams

    async def cleanup(self) -> None:
        await self._end()
        self._tools = None
        await super().cleanup()

    async def _end(self) -> None:
        """Close the session and stop the server; waits for it even when cancelled."""
        task, self._task = self._task, None
        self._stop.set()
        if task is not None and self._session is None:
            task.cancel()  # still starting (or stuck in the handshake): nothing to close politely
        if task is not None:
            try:
                await asyncio.wait([task])  # never raises the task's own outcome
            except asyncio.CancelledError:  # we are cancelled: still let the server stop
                await asyncio.wait([task], timeout=10)
                raise
            if not task.cancelled():
                task.exception()  # retrieved: initialize() or a call reported it already
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, asyncio.CancelledError):
            return exc
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]  # the SDK's task groups wrap the cause
        stderr = self._stderr_tail()
        tail = f"; its stderr ends: {stderr}" if stderr else ""
        if isinstance(exc, ProviderError):
            return ProviderError(f"{exc}{tail}; check that the command runs an MCP server",
                                 provider="mcp")
        if isinstance(exc, TimeoutError):
            reason = (f"did not answer the MCP handshake within "
                      f"{self.config['start_timeout']:g} s")
        elif isinstance(exc, FileNotFoundError | PermissionError):
            reason = f"could not be started ({exc.strerror}: {exc.filename})"
        elif self._http_status in (401, 403):
            return ProviderError(
                f"the {self._label} refused the connection (HTTP {self._http_status}): give "
                "it the credentials it expects with headers={'Authorization': 'Bearer ...'}",
                provider="mcp")
        else:
            reason = f"failed to start ({type(exc).__name__}: {exc})"
        return ProviderError(
            f"the {self._label} {reason}{tail}; check that the command runs an MCP server "
            "(or that the URL is its endpoint) and raise start_timeout if it is slow to start",
            provider="mcp")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            self._stderr.seek(0)
            text = " ".join(self._stderr.read().split())
            return text[-_STDERR_TAIL:]
        return ""

    # -- the tools interface ---------------------------------------------------------
    async def list_tools(self) -> list[Tool]:
        if self._tools is None:
            session = self._require_session()
            tools: list[Tool] = []
            cursor: str | None = None
            while True:
                params = mcp.types.PaginatedRequestParams(cursor=cursor) if cursor else None
                try:
                    page = await session.list_tools(params=params)
                except MCPError as exc:
                    raise ProviderError(f"the {self._label} could not list its tools: {exc}",
                                        provider="mcp") from exc
                tools.extend(Tool(t.name, t.description or t.name, dict(t.input_schema))
                             for t in page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            self._tools = tools
        return list(self._tools)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        session = self._require_session()
        try:
            result = await session.call_tool(
                name, arguments, read_timeout_seconds=float(self.config["call_timeout"]))
        except MCPError as exc:
            return ToolResult(f"the MCP server could not run {name!r}: {exc}", is_error=True)
        parts = [_text(block) for block in result.content]
        text = "\n".join(p for p in parts if p)
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content)
        return ToolResult(text, is_error=bool(result.is_error))

    def _require_session(self) -> mcp.ClientSession:
        self.require_initialized()
        if self._session is None:
            raise ProviderError(
                f"the {self._label} has closed the connection (did it exit?); start the "
                "PepperPy object again", provider="mcp")
        return self._session


def _text(block: Any) -> str:
    """A content block as text for the model (binary blocks are described, not sent)."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {getattr(block, 'mime_type', '')}, not shown]"
    if kind == "resource":
        resource = block.resource
        return str(getattr(resource, "text", "") or f"[resource {resource.uri}]")
    return f"[{kind} content]"


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_headers(headers: Any, url: str | None) -> None:
    """``headers=`` is for a streamable HTTP server: token names, one-line values."""
    if url is None:
        raise ValidationError("mcp headers= is for a streamable HTTP server (url=...); a "
                              "stdio server takes env= instead")
    if not isinstance(headers, dict):
        raise ValidationError("mcp headers= takes a dict of header names to values, e.g. "
                              "{'Authorization': 'Bearer ...'}")
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValidationError(f"mcp headers=: {str(name)[:40]!r} is not an HTTP header "
                                  "name (letters, digits and -_.!#$%&'*+^`|~ only)")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ValidationError(f"mcp headers=: the value of {name!r} must be a one-line "
                                  "string")
