"""Run inside a fresh user, mount and network namespace (``test_dns_deadline.py``):
the resolver there is a DNS server on 127.0.0.1:53 that takes every query and never
answers, and a hosts file names one index host. Prints one JSON line."""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
import time

from pepperpy.distribution.config import FetchLimits
from pepperpy.distribution.download import answer

queries: list[bytes] = []
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.1", 53))


def swallow() -> None:
    while True:
        queries.append(dns.recvfrom(512)[0])


threading.Thread(target=swallow, daemon=True).start()


class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=web.serve_forever, daemon=True).start()
port = web.server_port
limits = FetchLimits(connect=1.0, gap=1.0, total=float(sys.argv[1]), min_rate=1e9)
out: dict[str, object] = {}

started = time.monotonic()
try:
    answer(f"http://stalled-resolver.test:{port}/metadata/2.root.json", 1000, limits)
    out["stalled"] = "answered"
except Exception as exc:
    out["stalled"] = f"{type(exc).__name__}: {exc}"
out["stalled_seconds"] = time.monotonic() - started
out["queries"] = len(queries)

# a name from the hosts file, and an address: looked up and fetched as before
out["hosts"] = list(answer(f"http://pepperpy-index.test:{port}/x", 1000, limits))
out["hosts"][1] = out["hosts"][1].decode()  # type: ignore[index]
out["address"] = answer(f"http://127.0.0.1:{port}/x", 1000, limits)[1].decode()
print(json.dumps(out))
