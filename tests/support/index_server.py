"""A real plugin index on loopback: a publisher folder and a threaded static HTTP server
with switches an attacker would flip.

Switches on :class:`IndexServer` (all off by default):
- ``overrides``: serve these bytes for a path instead of the file (stale, rolled-back
  or mismatched metadata, a swapped bundle);
- ``extra``: append this many bytes to the answer for a path (endless data);
- ``stall``: for paths containing this string, send the headers and a few bytes,
  then stop sending (slow retrieval);
- ``trickle``: for paths containing this string, send one byte every 0.2 s, forever
  (slow retrieval that no gap timeout catches);
- ``trickle_headers``: for paths containing this string, send the status line, then one
  byte of a header every 0.2 s, forever (slow retrieval before the body);
- ``requests``: every path asked for, in order.
"""

from __future__ import annotations

import functools
import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        path = self.path.split("?", 1)[0]
        state.requests.append(path)
        if state.trickle_headers and state.trickle_headers in path:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not state.released.wait(0.2):  # the headers never end
                try:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                except OSError:
                    return
            return
        if state.trickle and state.trickle in path:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not state.released.wait(0.2):  # one byte at a time, never silent long
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
            return
        if state.stall and state.stall in path:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            state.released.wait(30)
            return
        body = state.overrides.get(path)
        if body is None:
            local = Path(self.directory) / path.lstrip("/")
            if not local.is_file():
                self.send_error(404)
                return
            body = local.read_bytes()
        body += b" " * state.extra.get(path, 0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class _State:
    overrides: dict[str, bytes] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)
    stall: str | None = None
    trickle: str | None = None
    trickle_headers: str | None = None
    requests: list[str] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up on a stalled or oversized answer is the point


class IndexServer:
    """Serves ``folder`` on 127.0.0.1 until closed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        handler = functools.partial(_Handler, directory=str(folder))
        self._server = _Server(("127.0.0.1", 0), handler)
        self.state = self._server.state = _State()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        self.state.released.set()
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Publisher:
    """A publisher with a bundle key, a repository key and a repository folder."""

    folder: Path
    factory: object
    repo_key: Path
    bundles: Path

    def bundle(self, name: str = "sample", version: str = "1.0.0", **manifest: object) -> Path:
        fields = {"name": name, "version": version, "provider_name": name,
                  "entry_point": f"{name}_pkg:Provider", **manifest}
        f = self.factory
        path = self.bundles / f"{name}-{version}.pepperplugin"
        path.write_bytes(f.build(f.files(manifest=fields)))  # type: ignore[attr-defined]
        return path

    @property
    def root(self) -> Path:
        return self.folder / "metadata" / "1.root.json"


def run(*argv: object) -> int:
    """The real CLI, in process."""
    from pepperpy.cli import main

    return main([str(a) for a in argv])
