"""The quick refresh's name lookup is under the whole answer's deadline.

``socket.getaddrinfo`` has no timeout of its own: a resolver that never answers holds
it for each DNS server's timeout times its attempts (here 30 s, one attempt). The test
runs the plain downloader in its own user, mount and network namespace (``unshare``),
where ``/etc/resolv.conf`` names a DNS server on 127.0.0.1 that takes the query and
never answers, and ``/etc/hosts`` names one host: the real glibc resolver, asked for
real, nothing patched.
"""

from __future__ import annotations

from pathlib import Path

from tests.distribution.namespace import run_probe

PROBE = Path(__file__).with_name("dns_probe.py")


def _in_namespace(tmp_path: Path, total: float) -> dict[str, object]:
    resolv, hosts = tmp_path / "resolv.conf", tmp_path / "hosts"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 pepperpy-index.test\n")
    return run_probe(PROBE, total, {"/etc/resolv.conf": resolv, "/etc/hosts": hosts})


def test_a_resolver_that_never_answers_is_a_slow_index_by_the_deadline(
        tmp_path: Path) -> None:
    out = _in_namespace(tmp_path, total=1.5)
    assert out["queries"], "the name never reached the resolver"
    assert str(out["stalled"]).startswith("SlowRetrievalError: no answer from "), out
    assert "name lookup" in str(out["stalled"])
    assert 1.4 < float(out["stalled_seconds"]) < 10, out  # 30 s without the deadline
    # names from the hosts file and plain addresses are unaffected
    assert out["hosts"] == [200, "ok"] and out["address"] == "ok"
