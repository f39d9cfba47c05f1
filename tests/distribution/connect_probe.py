"""Run inside a fresh user, mount and network namespace (``test_connect_deadline.py``):
the hosts file gives one index name eight addresses, and every connection to them waits
unanswered (a listener whose backlog is full drops each new SYN). Prints one JSON line."""

from __future__ import annotations

import json
import socket
import sys
import time

from pepperpy.distribution.config import FetchLimits
from pepperpy.distribution.download import answer

PORT = 8099
listener = socket.socket()
listener.bind(("0.0.0.0", PORT))
listener.listen(0)
held = []
for _ in range(3):  # fill the backlog: later SYNs are dropped, connects wait
    client = socket.socket()
    client.setblocking(False)
    try:
        client.connect(("127.0.0.1", PORT))
    except BlockingIOError:
        pass
    held.append(client)
time.sleep(0.2)

limits = FetchLimits(connect=1.0, gap=1.0, total=float(sys.argv[1]), min_rate=1e9)
found = socket.getaddrinfo("many.test", PORT, type=socket.SOCK_STREAM)
out: dict[str, object] = {"addresses": len(found)}
started = time.monotonic()
try:
    answer(f"http://many.test:{PORT}/metadata/2.root.json", 1000, limits)
    out["outcome"] = "answered"
except Exception as exc:
    out["outcome"] = f"{type(exc).__name__}: {exc}"
out["seconds"] = time.monotonic() - started
print(json.dumps(out))
