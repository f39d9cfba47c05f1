"""Downloads for ngclient: HTTP(S) with three timeouts, and ``file://`` for mirrors.

ngclient checks every length and hash of metadata (and ``pepperpy.distribution.client``
those of a bundle, against the target info ngclient verified); this module only makes
sure a download ends:

- connect and gap timeouts (silence between bytes), as ngclient's own fetcher;
- a deadline for the whole transfer (``FetchLimits.deadline_for``), because a server
  that sends one byte every few seconds never trips a gap timeout (slow retrieval);
- the length the signed metadata allows is enforced while streaming (endless data), by
  ``download_file`` (metadata, through ngclient) and ``fetch_bytes`` (a bundle, into
  memory); the temporary file of ``download_file`` lives in ``spool_dir`` (under
  PEPPERPY_HOME), never in the system temp folder; it has no name (``O_TMPFILE``), so
  nobody else can open it and a crash leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from tuf.api import exceptions
from tuf.ngclient.fetcher import FetcherInterface

from pepperpy.distribution.config import FetchLimits

__all__ = ["IndexFetcher"]


class IndexFetcher(FetcherInterface):
    """urllib3 for http(s) URLs, plain reads for file:// URLs."""

    def __init__(self, *, limits: FetchLimits | None = None, spool_dir: Path | None = None,
                 user_agent: str = "pepperpy") -> None:
        self.limits = limits or FetchLimits()
        self.spool_dir = spool_dir
        self._user_agent = user_agent
        self._pool: object | None = None
        self._max_length = 0
        self.requests: list[str] = []  # URLs asked for, in order (tests and benches)

    def _http(self) -> object:
        if self._pool is None:
            import urllib3

            # identity: the bytes counted and hashed are the bytes sent, never inflated
            self._pool = urllib3.PoolManager(
                headers={"User-Agent": self._user_agent, "Accept-Encoding": "identity"},
                # no retries (a refused or stalled index fails fast); redirects are
                # followed (CDNs use them) since TUF verifies the bytes, not the server
                retries=urllib3.Retry(total=5, connect=0, read=0, status=0, other=0,
                                      redirect=5),
            )
        return self._pool

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.requests.append(url)
        scheme = urlsplit(url).scheme
        if scheme == "file":
            return self._file_chunks(url)
        if scheme not in ("http", "https"):
            raise exceptions.DownloadError(f"unsupported URL scheme in {url}")
        import urllib3

        # The deadline starts before the request: a server that trickles its status line
        # and headers one byte at a time never trips urllib3's per-read timeout.
        deadline = time.monotonic() + self.limits.deadline_for(self._max_length)
        timeout = urllib3.Timeout(connect=self.limits.connect, read=self.limits.gap)
        try:
            response = self._request_until(url, timeout, deadline)
        except urllib3.exceptions.MaxRetryError as exc:
            # NewConnectionError subclasses ConnectTimeoutError: refused is not slow.
            if isinstance(exc.reason, urllib3.exceptions.TimeoutError) and not isinstance(
                exc.reason, urllib3.exceptions.NewConnectionError
            ):
                raise exceptions.SlowRetrievalError(f"no answer from {url}") from exc
            raise exceptions.DownloadError(f"cannot reach {url}: {exc.reason}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"no answer from {url}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise exceptions.DownloadError(f"cannot reach {url}: {exc}") from exc
        if response.status >= 300:
            response.release_conn()
            raise exceptions.DownloadHTTPError(
                f"HTTP {response.status} for {url}", response.status
            )
        return self._http_chunks(response, url, deadline)

    def _request_until(self, url: str, timeout: object, deadline: float) -> Any:
        """``request()`` in a daemon thread, waited for until ``deadline`` only.

        On time-out the thread is abandoned; if its answer ever arrives, the connection
        is closed, never handed back to the pool half read.
        """
        pool: Any = self._http()  # created here, not raced by two threads
        lock = threading.Lock()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                result: Any = pool.request(
                    "GET", url, preload_content=False, decode_content=False,
                    timeout=timeout,
                )
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc
            else:
                with lock:
                    if outcome.get("abandoned"):
                        result.close()  # closes the socket: the body is never read
                        result.release_conn()
                        return
                    outcome["response"] = result
            finally:
                done.set()

        threading.Thread(target=run, name="pepperpy-fetch", daemon=True).start()
        done.wait(max(0.0, deadline - time.monotonic()))
        with lock:
            if "response" not in outcome and "error" not in outcome:
                outcome["abandoned"] = True
                raise exceptions.SlowRetrievalError(
                    f"{url} is answering too slowly (deadline passed before the headers)"
                )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def _http_chunks(self, response: object, url: str, deadline: float) -> Iterator[bytes]:
        """Chunks as they arrive (``read1``), so the deadline is checked between bytes
        that trickle in, not only after a full chunk."""
        import urllib3

        try:
            while True:
                if time.monotonic() > deadline:
                    raise exceptions.SlowRetrievalError(
                        f"{url} is arriving too slowly (deadline passed)"
                    )
                chunk = response.read1(self.limits.chunk_size,  # type: ignore[attr-defined]
                                       decode_content=False)
                if not chunk:
                    return
                yield chunk
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"{url} stalled") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise exceptions.DownloadError(f"download of {url} failed: {exc}") from exc
        finally:
            response.release_conn()  # type: ignore[attr-defined]

    def _file_chunks(self, url: str) -> Iterator[bytes]:
        path = unquote(urlsplit(url).path)
        from pepperpy.core import PepperpyError
        from pepperpy.trust.gate import open_regular

        try:
            handle = open_regular(path)  # a FIFO or device would block or never end
        except PepperpyError as exc:
            raise exceptions.DownloadError(f"cannot read {path}: {exc}") from None
        except FileNotFoundError:
            raise exceptions.DownloadHTTPError(f"{path} does not exist", 404) from None
        except OSError as exc:
            raise exceptions.DownloadError(f"cannot read {path}: {exc.strerror}") from None
        return self._read_chunks(handle)

    def _read_chunks(self, handle: IO[bytes]) -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(self.limits.chunk_size):
                yield chunk

    @contextlib.contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO[bytes]]:
        """As ngclient's, but spooled under ``spool_dir`` and with a whole-file deadline."""
        self._max_length = max_length
        if self.spool_dir is not None:  # PEPPERPY_HOME/indexes/spool
            from pepperpy.fsio import ensure_folder

            ensure_folder(self.spool_dir, root=self.spool_dir.parent.parent, mode=0o700)
        with _anonymous_file(self.spool_dir) as spool:
            for chunk in self._bounded(url, max_length):
                spool.write(chunk)
            spool.seek(0)
            yield spool

    def fetch_bytes(self, url: str, max_length: int) -> bytes:
        """The body of ``url`` in memory, cut off past ``max_length`` bytes (endless data),
        under the same timeouts and deadline. Nothing touches the disk: the caller checks
        the bytes (a bundle: the gate, then its digest against the signed target info)
        before anything is written."""
        self._max_length = max_length
        # Each chunk is copied once and freed: the buffer grows in place (mremap) and
        # getvalue() hands it over uncopied, so the peak is about one bundle, not two.
        buffer = io.BytesIO()
        for chunk in self._bounded(url, max_length):
            buffer.write(chunk)
        return buffer.getvalue()

    def fetch_into(self, url: str, max_length: int, write: Any) -> None:
        """:meth:`fetch_bytes`, each chunk handed to ``write`` as it arrives."""
        self._max_length = max_length
        for chunk in self._bounded(url, max_length):
            write(memoryview(chunk))

    def _bounded(self, url: str, max_length: int) -> Iterator[bytes]:
        received = 0
        for chunk in self.fetch(url):
            received += len(chunk)
            if received > max_length:
                raise exceptions.DownloadLengthMismatchError(
                    f"{url} sent more than the {max_length} bytes the metadata allows"
                )
            yield chunk


@contextlib.contextmanager
def _anonymous_file(folder: Path | None) -> Iterator[IO[bytes]]:
    """A file in ``folder`` that has no name (``O_TMPFILE``), so nobody else can open
    it and a crash leaves nothing behind; where the file system cannot, a named file
    that is unlinked at once."""
    where = str(folder) if folder is not None else tempfile.gettempdir()
    try:
        fd = os.open(where, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except (OSError, AttributeError):
        fd, name = tempfile.mkstemp(dir=where, prefix="download-")
        os.unlink(name)
    with os.fdopen(fd, "w+b") as handle:
        yield handle
