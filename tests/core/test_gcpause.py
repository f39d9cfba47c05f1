"""``pepperpy._gcpause.paused``: no automatic collection inside, the collector's state
as it was afterwards on every path (an error, nesting, threads, a failed import)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest

from pepperpy._gcpause import paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_stops_collection_and_restores_it():
    with paused():
        assert not gc.isenabled()
        assert gc.collect() >= 0  # an explicit collection still works inside
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_restores_the_collector():
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_restore_only_when_the_outer_one_ends():
    with paused():
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pauses_in_many_threads_restore_the_collector_once_all_are_done():
    start, inside, results = threading.Barrier(8), threading.Barrier(8), []

    def work() -> None:
        start.wait()
        with paused():
            inside.wait()  # all eight are inside at once
            results.append(gc.isenabled())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [False] * 8
    assert gc.isenabled()


CHILD = """
import gc, sys
{before}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == {refused!r}:
            raise ImportError("refused for the test")
sys.meta_path.insert(0, Refuse())
try:
    import pepperpy.plugins.manager
    print("imported", gc.isenabled())
except ImportError:
    print("failed", gc.isenabled())
"""


@pytest.mark.parametrize(("before", "refused", "expected"), [
    ("", "nothing", "imported True"),
    ("gc.disable()", "nothing", "imported False"),
    ("", "pepperpy.trust.sealed", "failed True"),
    ("gc.disable()", "pepperpy.trust.sealed", "failed False"),
])
def test_importing_the_plugin_manager_leaves_the_collector_as_it_was(before, refused, expected):
    code = CHILD.format(before=before, refused=refused)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == expected
