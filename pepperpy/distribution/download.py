"""Bounded downloads with the standard library, for a refresh that finds nothing changed.

The same rules as :class:`pepperpy.distribution.fetcher.IndexFetcher` (which ngclient
uses), without importing urllib3, ``http.client`` (and its ``email`` parser) or the TUF
client: a connect timeout, a gap timeout (silence between bytes), a deadline for the
whole answer from the status line on (``FetchLimits.deadline_for``, so headers that
trickle in one byte at a time end too), the caller's length cut off while streaming
(endless data), identity encoding, at most 5 redirects, TLS checked against the system's
certificates, ``file://`` read as a regular file only. A request is HTTP/1.0 (the answer
is then never chunked and ends with the connection, or at its Content-Length). Failures
raise the ``tuf.api.exceptions`` error ngclient's fetcher would (imported only then), so
``client.translate_errors`` words them the same.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from pepperpy.distribution.config import FetchLimits

__all__ = ["answer", "download"]

Write = Callable[[memoryview], None]  # takes each piece of a body as it arrives

_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_HEAD_LIMIT = 64 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?")
_TARGET = re.compile(r"[!-~]+")  # printable ASCII, no space: nothing to inject
_FRAMING = frozenset({"content-length", "transfer-encoding", "location"})  # one value each


def download(url: str, max_length: int, limits: FetchLimits, *,
             user_agent: str = "pepperpy", log: list[str] | None = None,
             write: Write | None = None) -> bytes:
    """The body of ``url``, at most ``max_length`` bytes, within ``limits``; with
    ``write``, handed to it piece by piece as it arrives instead (``b""`` returned)."""
    status, data = answer(url, max_length, limits, user_agent=user_agent, log=log,
                          write=write)
    if status >= 300:
        raise _error("DownloadHTTPError", f"HTTP {status} for {url}", status)
    return data


def answer(url: str, max_length: int, limits: FetchLimits, *,
           user_agent: str = "pepperpy", log: list[str] | None = None,
           write: Write | None = None) -> tuple[int, bytes]:
    """The final HTTP status of ``url`` (after redirects) and its body if 2xx (a
    missing ``file://`` file is a 404); a 2xx body goes to ``write`` if given."""
    try:
        return _follow(url, max_length, limits, user_agent, log, write)
    except ValueError as exc:  # a URL nothing can be asked of: a port out of range, an
        # open IPv6 bracket, a host name IDNA cannot encode, a NUL in a file path
        raise _error("DownloadError", f"cannot request {url[:200]!r}: {exc}") from exc


def _follow(url: str, max_length: int, limits: FetchLimits, user_agent: str,
            log: list[str] | None, write: Write | None) -> tuple[int, bytes]:
    deadline = time.monotonic() + limits.deadline_for(max_length)
    for hop in range(_REDIRECTS + 1):
        if log is not None:
            log.append(url)
        parts = urlsplit(url)
        if parts.scheme == "file":
            if hop:  # as urllib3: an index redirects to http(s) only, never into this disk
                raise _error("DownloadError", f"refused a redirect to {url[:200]!r}: "
                                              "a file URL")
            return _file(url, max_length, write)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _error("DownloadError", f"unsupported URL {url[:200]}")
        with _connect(parts, url, limits, deadline) as sock:
            _send(sock, parts, url, user_agent)
            status, headers, rest = _head(sock, url, deadline)
            location = headers.get("location")
            if status in _REDIRECT_CODES and location:
                url = urljoin(url, location)
                continue
            if status >= 300:
                return status, b""
            return status, _body(sock, url, rest, headers, max_length, limits, deadline,
                                 write)
    raise _error("DownloadError", f"cannot reach {url}: more than {_REDIRECTS} redirects")


def _connect(parts: Any, url: str, limits: FetchLimits, deadline: float) -> socket.socket:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    name: str = parts.hostname
    # as bytes, getaddrinfo skips the idna codec (and its imports) for an ASCII name
    host: Any = name.encode("ascii") if name.isascii() else name
    try:
        sock = _open(_resolve(host, port, url, deadline), limits.connect)
    except TimeoutError as exc:  # as urllib3's connect timeout: slow, not refused
        raise _error("SlowRetrievalError", f"no answer from {url}") from exc
    except OSError as exc:
        raise _error("DownloadError", f"cannot reach {url}: {exc}") from exc
    sock.settimeout(limits.gap)
    if parts.scheme == "https":
        import ssl

        try:
            sock = ssl.create_default_context().wrap_socket(
                sock, server_hostname=parts.hostname)
        except TimeoutError as exc:
            sock.close()
            raise _error("SlowRetrievalError", f"no answer from {url}") from exc
        except OSError as exc:  # ssl.SSLError included: named by translate_errors
            sock.close()
            raise _error("DownloadError", f"cannot reach {url}: {exc}") from exc
    return sock


def _resolve(host: Any, port: int, url: str, deadline: float) -> list[Any]:
    """``getaddrinfo`` under the whole answer's deadline: a resolver that never answers
    (each DNS server tried in turn, each try timed out) is a slow index, not a hang.
    An address needs no lookup; a name is looked up on a daemon thread, abandoned if
    the deadline passes first (as the full path's fetcher abandons its request)."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                  flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        pass  # a name
    import threading

    found: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the waiting thread
            found.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="pepperpy-resolve", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise _error("SlowRetrievalError", f"no answer from {url} (the name lookup "
                                           "outlasted the deadline)")
    if isinstance(found[0], BaseException):
        raise found[0]
    return found[0]  # type: ignore[no-any-return]


def _open(addresses: list[Any], timeout: float) -> socket.socket:
    """The first address that accepts a connection (``socket.create_connection``'s
    order and errors), each try under the connect timeout."""
    error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("getaddrinfo returned no address")


def _send(sock: socket.socket, parts: Any, url: str, user_agent: str) -> None:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    if not _TARGET.fullmatch(target) or not _TARGET.fullmatch(host):
        raise _error("DownloadError", f"cannot request {url[:200]!r}: not a plain URL")
    request = (f"GET {target} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
               "Accept-Encoding: identity\r\n\r\n")
    try:
        sock.sendall(request.encode("ascii"))
    except TimeoutError as exc:
        raise _error("SlowRetrievalError", f"no answer from {url}") from exc
    except OSError as exc:
        raise _error("DownloadError", f"cannot reach {url}: {exc}") from exc


def _head(sock: socket.socket, url: str, deadline: float
          ) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and the first bytes of the body."""
    buffer = b""
    while (end := _HEAD_END.search(buffer)) is None:
        if time.monotonic() > deadline:  # headers trickling in
            raise _error("SlowRetrievalError",
                         f"{url} is answering too slowly (deadline passed before the headers)")
        if len(buffer) > _HEAD_LIMIT:
            raise _error("DownloadError", f"{url} sent more than {_HEAD_LIMIT} bytes of headers")
        chunk = _recv(sock, url, 65536, before_body=not buffer)
        if not chunk:
            raise _error("DownloadError", f"{url} closed the connection before its headers")
        buffer += chunk
    lines = buffer[:end.start()].splitlines()
    status = _STATUS.fullmatch(lines[0]) if lines else None
    if status is None:
        raise _error("DownloadError", f"{url} did not answer in HTTP")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or (name in _FRAMING and headers.get(name, value) != value):
            raise _error("DownloadError", f"{url} sent a malformed or repeated header")
        headers.setdefault(name, value)  # others may repeat (Set-Cookie): never read
    return int(status.group(1)), headers, buffer[end.end():]


def _body(sock: socket.socket, url: str, rest: bytes, headers: dict[str, str],
          max_length: int, limits: FetchLimits, deadline: float,
          write: Write | None = None) -> bytes:
    import io

    if headers.get("transfer-encoding", "identity").lower() != "identity":
        raise _error("DownloadError", f"{url} sent a {headers['transfer-encoding'][:20]!r} "
                                      "body to an HTTP/1.0 request")
    declared = headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        raise _error("DownloadError", f"{url} sent a malformed Content-Length")
    expected = int(declared) if declared is not None else None
    if expected is not None and expected <= max_length:
        if write is not None:
            return _exactly_into(sock, url, rest, expected, limits, deadline, write)
        return _exactly(sock, url, rest, expected, limits, deadline)
    # length unknown, or more than allowed: streamed and cut off past ``max_length``
    buffer = io.BytesIO()  # grows in place; getvalue() hands it over uncopied
    chunk, received = rest, 0
    while True:
        received += len(chunk)
        if received > max_length:
            raise _error("DownloadLengthMismatchError",
                         f"{url} sent more than the {max_length} bytes the metadata allows")
        if write is None:
            buffer.write(chunk)
        else:
            write(memoryview(chunk))
        if time.monotonic() > deadline:  # a body trickling in
            raise _error("SlowRetrievalError", f"{url} is arriving too slowly (deadline passed)")
        chunk = _recv(sock, url, limits.chunk_size)
        if not chunk:
            return buffer.getvalue()


def _exactly(sock: socket.socket, url: str, rest: bytes, expected: int,
             limits: FetchLimits, deadline: float) -> bytes:
    """A body of the declared length (at most the caller's), received straight into its
    final buffer: one copy, by the kernel (``getvalue`` hands the buffer over)."""
    import io

    if len(rest) >= expected:
        return rest[:expected]
    buffer = io.BytesIO()
    buffer.seek(expected - 1)
    buffer.write(b"\0")  # sized once
    view = buffer.getbuffer()
    try:
        view[:len(rest)] = rest
        received = len(rest)
        while received < expected:
            if time.monotonic() > deadline:  # a body trickling in (declared length)
                raise _error("SlowRetrievalError",
                             f"{url} is arriving too slowly (deadline passed)")
            got = _recv_into(sock, url, view[received:],
                             min(limits.chunk_size, expected - received))
            if not got:
                raise _error("DownloadError", f"download of {url} failed: the connection "
                                              f"closed after {received} of {expected} bytes")
            received += got
    finally:
        view.release()
    return buffer.getvalue()


def _exactly_into(sock: socket.socket, url: str, rest: bytes, expected: int,
                  limits: FetchLimits, deadline: float, write: Write) -> bytes:
    """:func:`_exactly`, each piece handed to ``write`` from one reused buffer (a large
    body then never sits in memory whole)."""
    write(memoryview(rest)[:expected])
    received = min(len(rest), expected)
    buffer = memoryview(bytearray(min(limits.chunk_size, expected - received) or 1))
    while received < expected:
        if time.monotonic() > deadline:  # a declared body trickling in, written
            raise _error("SlowRetrievalError", f"{url} is arriving too slowly (deadline passed)")
        got = _recv_into(sock, url, buffer[:], min(len(buffer), expected - received))
        if not got:
            raise _error("DownloadError", f"download of {url} failed: the connection "
                                          f"closed after {received} of {expected} bytes")
        write(buffer[:got])
        received += got
    return b""


def _recv_into(sock: socket.socket, url: str, view: memoryview, size: int) -> int:
    try:
        return sock.recv_into(view, size)
    except TimeoutError as exc:
        raise _error("SlowRetrievalError", f"{url} stalled") from exc
    except OSError as exc:
        raise _error("DownloadError", f"download of {url} failed: {exc}") from exc
    finally:
        view.release()


def _recv(sock: socket.socket, url: str, size: int, *, before_body: bool = False) -> bytes:
    try:
        return sock.recv(size)
    except TimeoutError as exc:
        raise _error("SlowRetrievalError",
                     f"no answer from {url}" if before_body else f"{url} stalled") from exc
    except OSError as exc:
        raise _error("DownloadError", f"download of {url} failed: {exc}") from exc


def _file(url: str, max_length: int, write: Write | None = None) -> tuple[int, bytes]:
    from pepperpy.core import PepperpyError
    from pepperpy.trust.gate import open_regular

    path = unquote(urlsplit(url).path)
    try:
        handle = open_regular(path)  # a FIFO or device would block or never end
    except PepperpyError as exc:
        raise _error("DownloadError", f"cannot read {path}: {exc}") from None
    except FileNotFoundError:
        return 404, b""
    except OSError as exc:
        raise _error("DownloadError", f"cannot read {path}: {exc.strerror}") from None
    with handle:
        data = handle.read(max_length + 1)
    if len(data) > max_length:
        raise _error("DownloadLengthMismatchError",
                     f"{url} sent more than the {max_length} bytes the metadata allows")
    if write is not None:
        write(memoryview(data))
        return 200, b""
    return 200, data


def _error(kind: str, message: str, status: int | None = None) -> Exception:
    """ngclient's exception ``kind`` (its import costs more than a no-change refresh,
    so only a failure pays it)."""
    from tuf.api import exceptions

    cls = getattr(exceptions, kind)
    return cls(message, status) if status is not None else cls(message)  # type: ignore[no-any-return]
