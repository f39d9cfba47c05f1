"""The embedded stores' worker thread (plugin_src/_shared/_worker.py): the loop never
blocks on a call, every outcome reaches its caller on whichever loop it came from, and
stopping leaves no descriptor open and no stale registration in the loop's selector."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "plugin_src" / "_shared" / "_worker.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pepperpy_shared_worker", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker_module = _module()
Worker = worker_module.Worker


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_loop_keeps_running_while_a_call_blocks_the_worker() -> None:
    worker = Worker("test-worker")
    release = threading.Event()
    ticks = 0

    def blocking() -> str:
        assert release.wait(10)
        return threading.current_thread().name

    async def ticker() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            if ticks == 50:
                release.set()
            await asyncio.sleep(0)

    try:
        name, _ = await asyncio.gather(worker.call(blocking), ticker())
    finally:
        worker.stop()
    assert name == "test-worker"
    assert ticks >= 50


async def test_calls_run_in_order_and_errors_are_raised_in_the_caller() -> None:
    worker = Worker("test-worker")
    seen: list[int] = []

    def record(i: int) -> int:
        seen.append(i)
        if i == 3:
            raise ValueError("three")
        return i * 10

    try:
        outcomes = await asyncio.gather(*(worker.call(record, i) for i in range(6)),
                                        return_exceptions=True)
        assert await worker.call(pow, 2, 5) == 32
        assert await worker.call(dict, a=1) == {"a": 1}
    finally:
        worker.stop()
    assert seen == list(range(6))
    assert outcomes[:3] == [0, 10, 20] and outcomes[4:] == [40, 50]
    assert isinstance(outcomes[3], ValueError) and str(outcomes[3]) == "three"


async def test_a_cancelled_caller_leaves_the_worker_serving() -> None:
    worker = Worker("test-worker")
    release = threading.Event()
    try:
        waiting = asyncio.ensure_future(worker.call(release.wait, 10))
        await _settle()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        assert await worker.call(str, 7) == "7"
    finally:
        worker.stop()


async def test_stop_on_the_loop_closes_the_pipe_and_leaves_no_stale_registration() -> None:
    loop = asyncio.get_running_loop()
    before = _open_fds()
    worker = Worker("test-worker")
    assert await worker.call(int, "5") == 5
    assert _open_fds() > before  # the inbox pipe is open while the worker serves
    worker.stop()
    await _settle()
    assert _open_fds() == before
    # A pipe opened now reuses the numbers; a stale registration of the old one in the
    # selector would make add_reader fail (epoll no longer knows the descriptor).
    read, write = os.pipe()
    arrived = loop.create_future()
    try:
        loop.add_reader(read, lambda: arrived.done() or arrived.set_result(os.read(read, 1)))
        os.write(write, b"x")
        assert await asyncio.wait_for(arrived, 5) == b"x"
    finally:
        loop.remove_reader(read)
        os.close(read)
        os.close(write)


async def test_stop_from_another_thread_settles_what_was_queued_then_closes() -> None:
    before = _open_fds()
    worker = Worker("test-worker")
    release = threading.Event()
    assert await worker.call(int, "1") == 1
    pending = asyncio.ensure_future(worker.call(lambda: release.wait(10) and "done"))
    await _settle()
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    stopper.join(10)
    release.set()
    assert await asyncio.wait_for(pending, 10) == "done"
    for _ in range(200):
        if _open_fds() == before:
            break
        await asyncio.sleep(0.01)
    assert _open_fds() == before


@pytest.mark.parametrize("order", ["stop, then close the loop unrun",
                                   "close the loop, then stop",
                                   "stop, run the loop once, then close it"])
def test_the_pipe_closes_whichever_way_the_loop_and_the_worker_end(order: str) -> None:
    """stop() off the loop hands the pipe's close to that loop; a loop that is closed
    without running again must not keep the two descriptors open."""
    before = _open_fds()
    loop = asyncio.new_event_loop()
    worker = Worker("test-worker")
    assert loop.run_until_complete(worker.call(int, "7")) == 7
    assert _open_fds() == before + 5  # the loop's epoll and self-pipe, and the inbox pipe
    if order.startswith("close"):
        loop.close()
        worker.stop()
    else:
        worker.stop()  # no loop runs in this thread now: the close goes through the loop
        if "run the loop" in order:
            loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    assert _open_fds() == before


def test_each_event_loop_gets_its_own_answers() -> None:
    """A second loop, in another thread while the first runs, then after it has closed."""
    worker = Worker("test-worker")
    started = threading.Event()
    results: dict[str, Any] = {}

    async def home() -> None:
        assert await worker.call(int, "1") == 1  # this loop gets the inbox
        started.set()
        for _ in range(1000):  # stay open while the other loop is answered
            if "other" in results:
                break
            await asyncio.sleep(0.01)
        results["home"] = await worker.call(str.lower, "HOME")

    def other() -> None:
        assert started.wait(10)

        async def ask() -> str:
            return str(await worker.call(str.upper, "other"))

        results["other"] = asyncio.run(ask())  # answered through call_soon_threadsafe

    thread = threading.Thread(target=other)
    thread.start()
    try:
        asyncio.run(home())
        thread.join(10)
        assert results == {"home": "home", "other": "OTHER"}
        # The first loop is closed now: the next one takes the inbox over.
        assert asyncio.run(worker.call(len, "four")) == 4
    finally:
        worker.stop()


class _NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch descriptors, as Windows' proactor loop cannot."""

    def add_reader(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError


def test_a_loop_without_add_reader_is_answered_through_call_soon_threadsafe() -> None:
    worker = Worker("test-worker")
    loop = _NoReaderLoop()
    before = _open_fds()
    try:
        assert loop.run_until_complete(worker.call(sum, [1, 2, 3])) == 6
        with pytest.raises(KeyError):
            loop.run_until_complete(worker.call({}.__getitem__, "missing"))
        assert _open_fds() == before  # no pipe was left behind by the refused reader
    finally:
        worker.stop()
        loop.close()


async def test_a_stopped_worker_refuses_new_calls_at_once() -> None:
    """Refused as soon as stop() is called: queued behind the stop, it would never run."""
    worker = Worker("test-worker")
    release = threading.Event()
    busy = asyncio.ensure_future(worker.call(release.wait, 10))
    await _settle()
    worker.stop()  # the thread is still busy with the call above
    with pytest.raises(RuntimeError, match="stopped"):
        await worker.call(int)
    release.set()
    assert await busy is True


async def test_a_call_runs_here_when_nothing_submitted_is_unfinished() -> None:
    worker = Worker("test-worker")
    try:
        assert worker.here(threading.current_thread) is threading.current_thread()
        with pytest.raises(KeyError):
            worker.here({}.__getitem__, "missing")
        assert await worker.call(threading.current_thread) is not threading.current_thread()
        assert worker.here(pow, 2, 5) == 32  # the worker's call settled: here again
    finally:
        worker.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        worker.here(int)


async def test_a_call_never_runs_here_ahead_of_one_submitted_before_it() -> None:
    """Queued or running on the worker: ``here`` answers BUSY, so the caller submits and
    its call runs after the earlier one, in order. Checked in the gap between two calls
    too, when the worker holds no call (it is held there, reporting the first outcome)."""
    import time

    worker = Worker("test-worker")
    release = threading.Event()
    seen: list[str] = []
    try:
        running = asyncio.ensure_future(worker.call(lambda: release.wait(10) and seen.append("a")))
        queued = asyncio.ensure_future(worker.call(seen.append, "b"))
        await _settle()
        assert worker.here(seen.append, "here") is worker_module.BUSY  # "a" is running
        with worker._lock:  # the worker stops between "a" and "b", running nothing
            release.set()
            deadline = time.monotonic() + 10
            while (seen != ["a"] or worker._running.locked()) and time.monotonic() < deadline:
                time.sleep(0.001)
            assert worker.here(seen.append, "here") is worker_module.BUSY  # "b" is queued
        await asyncio.gather(running, queued)
        assert seen == ["a", "b"]
        worker.here(seen.append, "here")
        assert seen == ["a", "b", "here"]
    finally:
        release.set()
        worker.stop()


def test_a_call_here_never_runs_beside_a_call_from_another_thread() -> None:
    """One thread runs a call here; another thread's ``here`` is refused, and a call it
    submits waits until the first is done: the store never sees two at once."""
    worker = Worker("test-worker")
    inside, release = threading.Event(), threading.Event()
    seen: list[str] = []
    results: dict[str, object] = {}

    def long_call() -> None:
        inside.set()
        assert release.wait(10)
        seen.append("here done")

    def other_thread() -> None:
        assert inside.wait(10)
        results["here"] = worker.here(seen.append, "other here")

        async def submit() -> None:
            await worker.call(seen.append, "submitted")

        asyncio.run(submit())

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        runner = threading.Thread(target=lambda: results.__setitem__("first",
                                                                     worker.here(long_call)))
        runner.start()
        assert inside.wait(10)
        thread.join(0.5)  # its submitted call must still be waiting for the first
        assert seen == []
        release.set()
        runner.join(10)
        thread.join(10)
    finally:
        release.set()
        worker.stop()
    assert results["here"] is worker_module.BUSY
    assert seen == ["here done", "submitted"]


# A fresh interpreter forks, never the pytest process: a fork of a process with other
# threads (gRPC's, chroma's) can abort in the child (see tests/state/test_full_disk.py).
_CALL_IN_CHILD = r"""
import asyncio, importlib.util, os, sys

from pepperpy.core import ConfigurationError

spec = importlib.util.spec_from_file_location("shared_worker", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
worker = module.Worker("pepperpy-fork-test")
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # the child: answer through the pipe, then leave without cleanup
    async def call() -> None:
        await asyncio.wait_for(worker.call(lambda: None), 5)

    def here() -> None:  # the client does not survive a fork on the caller's thread either
        worker.here(lambda: None)

    try:
        for attempt in (lambda: asyncio.run(call()), here):
            code = b"?"
            try:
                attempt()
                code = b"answered"
            except ConfigurationError as exc:
                code = b"refused" if "forks" in str(exc) else b"wrong-message"
            except BaseException as exc:  # reported to the parent
                code = type(exc).__name__.encode()
            os.write(write, code + b" ")
    finally:
        os._exit(0)
os.close(write)
os.waitpid(pid, 0)
with os.fdopen(read, "rb") as answer:
    print(answer.read().decode())

async def parent() -> None:  # the parent's worker still serves
    print(await worker.call(lambda: 7))

asyncio.run(parent())
worker.stop()
"""


def test_a_call_in_a_forked_child_is_refused_not_left_waiting() -> None:
    """The child of a fork has no worker thread: a call there must fail at once with a
    ConfigurationError that says what to do, never wait forever; the parent's worker
    still serves."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CALL_IN_CHILD, str(SOURCE)],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused", "refused", "7"], done.stderr


_FORKED_CHILD = r"""
import asyncio, atexit, importlib.util, os, signal, sys, threading, weakref

assert not weakref.finalize._registered_with_atexit  # the check below runs after it
report = sys.argv[2]

def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True

def fds() -> set[int]:
    return {fd for fd in range(256) if is_open(fd)}

def check_at_exit() -> None:  # the child's last word, after weakref's finalizers
    if child:
        kept = ["open" if is_open(fd) else "closed" for fd in reused]
        with open(report, "a") as out:
            out.write(f"child {' '.join(kept)}\n")

child = False
atexit.register(check_at_exit)  # first: atexit runs it last (weakref's registers later)

spec = importlib.util.spec_from_file_location("shared_worker", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
worker = module.Worker("fork-test")
before = fds()
loop = asyncio.new_event_loop()
ready = fds()
assert loop.run_until_complete(worker.call(int, "7")) == 7
reused = sorted(fds() - ready)
assert len(reused) == 2, reused  # the inbox pipe
if sys.argv[3] == "stopped in the parent":
    stopper = threading.Thread(target=worker.stop)  # the loop is not running: the close
    stopper.start()                                 # is handed to it, with a finalizer
    stopper.join()
if sys.argv[3] == "stopped in the child, forked mid-post":
    worker._lock.acquire()  # as the worker thread holds it while it posts an outcome
pid = os.fork()
if pid == 0:
    child = True
    signal.alarm(10)  # a child that hangs is killed: the parent sees it
    own = os.open(report + ".own", os.O_RDWR | os.O_CREAT)
    for fd in reused:  # the child reuses the numbers for a file of its own
        os.dup2(own, fd)
    os.close(own)
    if sys.argv[3].startswith("stopped in the child"):
        worker.stop()
    sys.exit(0)  # a normal exit: atexit, then the finalizers
if sys.argv[3] == "stopped in the child, forked mid-post":
    worker._lock.release()
_, status = os.waitpid(pid, 0)
assert status == 0, status
loop.run_until_complete(asyncio.sleep(0))  # the parent's loop runs the close it was given
worker.stop()
loop.close()
left = len(fds() - before)
with open(report, "a") as out:
    out.write(f"parent {left}\n")
"""


@pytest.mark.parametrize("when", ["stopped in the parent", "stopped in the child",
                                  "stopped in the child, forked mid-post", "never stopped"])
def test_a_forked_child_never_closes_the_descriptors_of_its_parents_worker(
        when: str, tmp_path: Path) -> None:
    """A worker (with its inbox) alive in a forked child: stopped there, collected, or
    finalized at the child's exit, its copy leaves alone the numbers the child has
    reused; the parent still closes its own pipe."""
    import subprocess
    import sys

    report = tmp_path / "report"
    done = subprocess.run([sys.executable, "-c", _FORKED_CHILD, str(SOURCE), str(report),
                           when], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert report.read_text().splitlines() == ["child open open", "parent 0"], done.stderr
