"""``async with`` starts providers together and cleans them up in reverse, all or nothing."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any, ClassVar

import pytest

from pepperpy import ConfigurationError, PepperPy, ProviderError
from pepperpy.core import start_peaks_passed
from pepperpy_testing import FakeLLM, HashEmbeddings, MemoryStorage, MemoryStore, fake_registry


class Journal:
    """What the providers below did, in order."""

    events: ClassVar[list[str]] = []


def _recording(base: type, label: str) -> type:
    class Recording(base):  # type: ignore[misc, valid-type]
        async def initialize(self) -> None:
            Journal.events.append(f"start {label}")
            await super().initialize()

        async def cleanup(self) -> None:
            Journal.events.append(f"stop {label}")
            await super().cleanup()

    return Recording


def _registry(**extra: type) -> Any:
    registry = fake_registry()
    registry.register("llm", "rec", _recording(FakeLLM, "llm"))
    registry.register("embeddings", "rec", _recording(HashEmbeddings, "embeddings"))
    registry.register("rag", "rec", _recording(MemoryStore, "rag"))
    registry.register("storage", "rec", _recording(MemoryStorage, "storage"))
    for name, cls in extra.items():
        registry.register(cls.category, name, cls)
    return registry


async def test_providers_start_together() -> None:
    """Two providers that each wait for the other to be starting: only a concurrent
    start lets both finish (one after the other, the first waits forever)."""
    both_started = asyncio.Barrier(2)

    class WaitsLLM(FakeLLM):
        async def initialize(self) -> None:
            await asyncio.wait_for(both_started.wait(), timeout=30)
            await super().initialize()

    class WaitsStorage(MemoryStorage):
        async def initialize(self) -> None:
            await asyncio.wait_for(both_started.wait(), timeout=30)
            await super().initialize()

    registry = _registry(waits=WaitsLLM, waits_storage=WaitsStorage)
    app = PepperPy(registry=registry).with_llm("waits").with_storage("waits_storage")
    async with app:
        assert set(app._ready) == {"llm", "storage"}
    assert app._ready == {}


async def test_cleanup_runs_in_reverse_configuration_order() -> None:
    Journal.events = []
    app = (
        PepperPy(registry=_registry())
        .with_storage("rec")
        .with_llm("rec")
        .with_embeddings("rec")
        .with_rag("rec")
    )
    async with app:
        pass
    assert sorted(Journal.events[:4]) == sorted(
        ["start storage", "start llm", "start embeddings", "start rag"]
    )
    assert Journal.events[4:] == ["stop rag", "stop embeddings", "stop llm", "stop storage"]


class SleeperStorage(MemoryStorage):
    """Starts a real child process and stops it on cleanup."""

    processes: ClassVar[list[subprocess.Popen[bytes]]] = []

    async def initialize(self) -> None:
        await asyncio.sleep(0.05)  # still starting when the other provider fails
        self.process = subprocess.Popen(["sleep", "60"])
        SleeperStorage.processes.append(self.process)
        await super().initialize()

    async def cleanup(self) -> None:
        self.process.terminate()
        self.process.wait()
        await super().cleanup()


class FailsLLM(FakeLLM):
    async def initialize(self) -> None:
        raise ConfigurationError("the model file is missing")


class CrashesLLM(FakeLLM):
    async def initialize(self) -> None:
        raise OSError("disk on fire")


async def test_a_failed_start_cleans_up_the_others_and_names_the_provider() -> None:
    SleeperStorage.processes = []
    registry = _registry(sleeper=SleeperStorage, fails=FailsLLM)
    app = PepperPy(registry=registry).with_storage("sleeper").with_llm("fails")
    with pytest.raises(ConfigurationError) as caught:
        async with app:
            pytest.fail("the body must not run")
    message = str(caught.value)
    assert "llm provider 'fails' failed to start" in message
    assert "the model file is missing" in message
    assert app._ready == {}
    [process] = SleeperStorage.processes
    assert process.poll() is not None  # the started provider's process is gone
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running


async def test_a_foreign_exception_becomes_a_provider_error_naming_the_provider() -> None:
    registry = _registry(crashes=CrashesLLM)
    app = PepperPy(registry=registry).with_storage("rec").with_llm("crashes")
    named = r"llm provider 'crashes' failed to start: OSError"
    with pytest.raises(ProviderError, match=named) as caught:
        await app.initialize()
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.provider == "crashes"
    assert app._ready == {}


async def test_two_failures_raise_the_first_and_mention_the_second() -> None:
    class FailsStorage(MemoryStorage):
        async def initialize(self) -> None:
            raise ConfigurationError("no database")

    registry = _registry(fails=FailsLLM, fails_storage=FailsStorage)
    app = PepperPy(registry=registry).with_llm("fails").with_storage("fails_storage")
    with pytest.raises(ConfigurationError, match="'fails' failed to start") as caught:
        await app.initialize()
    assert any("'fails_storage' failed to start" in note for note in caught.value.__notes__)


async def test_cancelling_the_start_cleans_up_what_started() -> None:
    Journal.events = []
    started = asyncio.Event()

    class Slow(FakeLLM):
        async def initialize(self) -> None:
            started.set()
            await asyncio.sleep(60)

    app = PepperPy(registry=_registry(slow=Slow)).with_storage("rec").with_llm("slow")
    task = asyncio.ensure_future(app.initialize())
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert app._ready == {}
    assert Journal.events == ["start storage", "stop storage"]


async def test_first_use_of_two_providers_at_once_starts_each_once() -> None:
    Journal.events = []
    app = PepperPy(registry=_registry()).with_llm("rec").with_storage("rec")
    try:
        await asyncio.gather(app._provider("llm"), app._provider("llm"), app._provider("storage"))
    finally:
        await app.aclose()
    assert sorted(Journal.events) == ["start llm", "start storage", "stop llm", "stop storage"]



class PeakingEmbeddings(HashEmbeddings):
    """A start that peaks (``start_peaks``): it holds until the test lets it finish."""

    start_peaks = True
    release: ClassVar[asyncio.Event]

    async def initialize(self) -> None:
        Journal.events.append("build starts")
        await asyncio.wait_for(self.release.wait(), timeout=30)
        Journal.events.append("build done")
        await super().initialize()


class MappingLLM(FakeLLM):
    """Imports at once, then maps its model once the peaking starts are done."""

    async def initialize(self) -> None:
        Journal.events.append("llm imports")
        await start_peaks_passed()
        Journal.events.append("llm maps")
        await super().initialize()

    async def cleanup(self) -> None:
        Journal.events.append("llm stops")
        await super().cleanup()


async def test_a_model_load_waits_for_starts_that_peak_everything_else_overlaps() -> None:
    Journal.events = []
    PeakingEmbeddings.release = asyncio.Event()

    class ReleasingStorage(MemoryStorage):
        async def initialize(self) -> None:  # starts while the build is still running
            await asyncio.sleep(0.01)
            assert Journal.events == ["build starts", "llm imports"]
            PeakingEmbeddings.release.set()
            await super().initialize()

    registry = _registry(peaks=PeakingEmbeddings, maps=MappingLLM, releases=ReleasingStorage)
    app = (PepperPy(registry=registry).with_llm("maps").with_embeddings("peaks")
           .with_storage("releases"))
    async with app:
        assert set(app._ready) == {"llm", "embeddings", "storage"}
    assert Journal.events[:4] == ["build starts", "llm imports", "build done", "llm maps"]


async def test_without_a_start_that_peaks_a_model_load_does_not_wait() -> None:
    Journal.events = []
    await asyncio.wait_for(start_peaks_passed(), timeout=1)  # outside a start: at once
    app = PepperPy(registry=_registry(maps=MappingLLM)).with_llm("maps").with_storage("rec")
    async with app:
        pass
    assert Journal.events[:2] == ["llm imports", "llm maps"]


async def test_a_failed_start_that_peaks_lets_the_model_load_go_then_cleans_it_up() -> None:
    Journal.events = []

    class FailsEmbeddings(HashEmbeddings):
        start_peaks = True

        async def initialize(self) -> None:
            await asyncio.sleep(0.01)
            raise ConfigurationError("no model file")

    app = (PepperPy(registry=_registry(fails=FailsEmbeddings, maps=MappingLLM))
           .with_llm("maps").with_embeddings("fails"))
    with pytest.raises(ConfigurationError, match="'fails' failed to start: no model file"):
        await app.initialize()
    assert Journal.events == ["llm imports", "llm maps", "llm stops"]
    assert app._ready == {}
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_cancelling_a_start_while_a_model_load_waits_cleans_up() -> None:
    Journal.events = []
    PeakingEmbeddings.release = asyncio.Event()  # never set: the build never ends
    app = (PepperPy(registry=_registry(peaks=PeakingEmbeddings, maps=MappingLLM))
           .with_llm("maps").with_embeddings("peaks").with_storage("rec"))
    task = asyncio.ensure_future(app.initialize())
    while "llm imports" not in Journal.events:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "llm maps" not in Journal.events
    assert app._ready == {}
    assert asyncio.all_tasks() == {asyncio.current_task()}
