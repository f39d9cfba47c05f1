"""The quick refresh's connection attempts are under the whole answer's deadline.

A name may have many addresses; ``connect`` tries them in turn, each under the connect
timeout. Whoever answers for the name (its DNS, or anyone on the path to the resolver)
can list dozens of addresses that never answer: without the deadline the wait is their
number times the connect timeout, not the deadline the full workflow's fetcher keeps.
The test runs the plain downloader in its own user, mount and network namespace
(``unshare``), where ``/etc/hosts`` gives one name eight addresses on the loopback and a
listener with a full backlog leaves every connection unanswered: the real resolver and
real sockets, nothing patched.
"""

from __future__ import annotations

from pathlib import Path

from tests.distribution.namespace import run_probe

PROBE = Path(__file__).with_name("connect_probe.py")


def test_a_name_with_many_silent_addresses_is_a_slow_index_by_the_deadline(
        tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n"
                     + "".join(f"127.0.0.{n} many.test\n" for n in range(2, 10)))
    out = run_probe(PROBE, 1.5, {"/etc/hosts": hosts})
    assert out["addresses"] == 8, out
    assert str(out["outcome"]).startswith("SlowRetrievalError: no answer from "), out
    assert 1.4 < float(out["seconds"]) < 5, out  # 8 s: one connect timeout per address
