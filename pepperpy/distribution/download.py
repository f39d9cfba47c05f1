"""Bounded downloads with the standard library, for a refresh that finds nothing changed.

The same rules as :class:`pepperpy.distribution.fetcher.IndexFetcher` (which ngclient
uses), without importing urllib3 or the TUF client: a connect timeout, a gap timeout
(silence between bytes), a deadline for the whole transfer including the status line
and headers (``FetchLimits.deadline_for``), the caller's length cut off while
streaming (endless data), identity encoding, at most 5 redirects, ``file://`` read
as a regular file only. Failures raise the ``tuf.api.exceptions`` error ngclient's
fetcher would (imported only then), so ``client.translate_errors`` words them the same.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from pepperpy.distribution.config import FetchLimits

__all__ = ["answer", "download"]

_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def download(url: str, max_length: int, limits: FetchLimits, *,
             user_agent: str = "pepperpy", log: list[str] | None = None) -> bytes:
    """The body of ``url``, at most ``max_length`` bytes, within ``limits``."""
    status, data = answer(url, max_length, limits, user_agent=user_agent, log=log)
    if status >= 300:
        raise _error("DownloadHTTPError", f"HTTP {status} for {url}", status)
    return data


def answer(url: str, max_length: int, limits: FetchLimits, *,
           user_agent: str = "pepperpy", log: list[str] | None = None) -> tuple[int, bytes]:
    """The final HTTP status of ``url`` (after redirects) and its body if 2xx (a
    missing ``file://`` file is a 404)."""
    deadline = time.monotonic() + limits.deadline_for(max_length)
    for _ in range(_REDIRECTS + 1):
        if log is not None:
            log.append(url)
        scheme = urlsplit(url).scheme
        if scheme == "file":
            return _file(url, max_length)
        if scheme not in ("http", "https"):
            raise _error("DownloadError", f"unsupported URL scheme in {url}")
        response = _until(deadline, url, lambda u=url: _request(u, limits, user_agent))
        try:
            location = response.getheader("Location")
            if response.status in _REDIRECT_CODES and location:
                url = urljoin(url, location)
                continue
            if response.status >= 300:
                return response.status, b""
            return response.status, _body(response, url, max_length, limits, deadline)
        finally:
            response.close()
    raise _error("DownloadError", f"cannot reach {url}: more than {_REDIRECTS} redirects")


def _request(url: str, limits: FetchLimits, user_agent: str) -> Any:
    import http.client

    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=limits.connect)
    try:
        conn.connect()
    except TimeoutError as exc:  # connect timed out: slow, as urllib3's ConnectTimeout
        raise _error("SlowRetrievalError", f"no answer from {url}") from exc
    except OSError as exc:
        raise _error("DownloadError", f"cannot reach {url}: {exc}") from exc
    conn.sock.settimeout(limits.gap)
    path = parts.path or "/"
    try:
        conn.request("GET", path, headers={"User-Agent": user_agent,
                                           "Accept-Encoding": "identity"})
        return conn.getresponse()
    except TimeoutError as exc:
        conn.close()
        raise _error("SlowRetrievalError", f"no answer from {url}") from exc
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise _error("DownloadError", f"cannot reach {url}: {exc}") from exc


def _until(deadline: float, url: str, call: Any) -> Any:
    """``call()`` (connect, request, status line and headers) in a daemon thread, waited
    for until ``deadline`` only: a server that trickles its headers one byte at a time
    never trips the per-read timeout. An answer that arrives after is closed unread."""
    lock = threading.Lock()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        else:
            with lock:
                if outcome.get("abandoned"):
                    result.close()
                    return
                outcome["response"] = result
        finally:
            done.set()

    threading.Thread(target=run, name="pepperpy-fetch", daemon=True).start()
    done.wait(max(0.0, deadline - time.monotonic()))
    with lock:
        if "response" not in outcome and "error" not in outcome:
            outcome["abandoned"] = True
            raise _error("SlowRetrievalError",
                         f"{url} is answering too slowly (deadline passed before the headers)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def _body(response: Any, url: str, max_length: int, limits: FetchLimits,
          deadline: float) -> bytes:
    import http.client
    import io

    buffer = io.BytesIO()  # grows in place; getvalue() hands it over uncopied
    received = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise _error("SlowRetrievalError",
                             f"{url} is arriving too slowly (deadline passed)")
            chunk = response.read1(limits.chunk_size)
            if not chunk:
                return buffer.getvalue()
            received += len(chunk)
            if received > max_length:
                raise _error("DownloadLengthMismatchError",
                             f"{url} sent more than the {max_length} bytes the metadata "
                             "allows")
            buffer.write(chunk)
    except TimeoutError as exc:
        raise _error("SlowRetrievalError", f"{url} stalled") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _error("DownloadError", f"download of {url} failed: {exc}") from exc


def _file(url: str, max_length: int) -> tuple[int, bytes]:
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
    return 200, data


def _error(kind: str, message: str, status: int | None = None) -> Exception:
    """ngclient's exception ``kind`` (its import costs more than a no-change refresh,
    so only a failure pays it)."""
    from tuf.api import exceptions

    cls = getattr(exceptions, kind)
    return cls(message, status) if status is not None else cls(message)  # type: ignore[no-any-return]
