"""Storage behaviour beyond the conformance suite (test_storage_conformance.py runs
that): keys, several providers and processes on one store, reopening; sqlite and
PostgreSQL alike."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pepperpy.core import ValidationError
from pepperpy.registry import ProviderRegistry
from pepperpy.storage import StorageProvider

OpenStorage = Callable[..., Awaitable[StorageProvider]]

NESTED = {
    "messages": [
        {"role": "user", "content": 'héllo "quoted" \\ back\nslash ✓'},
        {"role": "assistant", "content": "", "tokens": 12, "score": 0.25},
    ],
    "flags": [True, False, None],
    "big": 2**62,
    "negative": -7,
    "empty": {"list": [], "dict": {}},
}


@pytest.mark.parametrize("key", ["", "nul\x00byte"], ids=["empty", "nul"])
async def test_bad_keys_are_refused(storage: StorageProvider, key: str) -> None:
    with pytest.raises(ValidationError):
        await storage.put("app", key, 1)


async def test_two_providers_write_the_same_store_at_once(open_storage: OpenStorage) -> None:
    first, second = await open_storage(), await open_storage()

    async def writer(provider: StorageProvider, tag: str) -> None:
        for i in range(50):
            await provider.put("two", f"{tag}{i:03d}", i)
            await provider.put("two", "same", tag)

    await asyncio.gather(writer(first, "a"), writer(second, "b"))
    assert len(await first.list("two", prefix="a")) == 50
    assert len(await second.list("two", prefix="b")) == 50
    assert await first.get("two", "b049") == 49
    assert await second.get("two", "same") in {"a", "b"}


WRITER = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path[:0] = json.loads(sys.argv[1])
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.registry import ProviderRegistry

    async def main():
        registry = ProviderRegistry(resolver=PluginManager())  # signed bundles, from env
        provider = registry.create("storage", sys.argv[2], json.loads(sys.argv[3]))
        await provider.initialize()
        try:
            for i in range(int(sys.argv[5])):
                await provider.put("procs", f"{sys.argv[4]}{i:04d}", {"i": i})
                await provider.put("procs", "same", sys.argv[4])
        finally:
            await provider.cleanup()

    asyncio.run(main())
    """
)


async def test_several_processes_write_at_once(
    storage: StorageProvider, storage_backend: Any, plugin_env: dict[str, str]
) -> None:
    tests_dir = Path(__file__).resolve().parents[1]
    paths = json.dumps([str(tests_dir), str(tests_dir.parent)])
    config = json.dumps(storage_backend.config)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            paths,
            storage_backend.name,
            config,
            tag,
            "150",
            stderr=subprocess.PIPE,
            env={**os.environ, **plugin_env},
        )
        for tag in ("p", "q", "r")
    ]
    for proc in procs:
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
    for tag in ("p", "q", "r"):
        assert len(await storage.list("procs", prefix=tag)) == 150
    assert await storage.get("procs", "same") in {"p", "q", "r"}


async def test_data_survives_reopen(open_storage: OpenStorage) -> None:
    first = await open_storage()
    await first.put("keep", "k", NESTED)
    await first.cleanup()
    second = await open_storage()
    assert await second.get("keep", "k") == NESTED
    assert await second.list("keep") == ["k"]


async def test_unknown_option_is_refused(registry: ProviderRegistry, storage_backend: Any) -> None:
    with pytest.raises(ValidationError, match="bogus"):
        registry.create("storage", storage_backend.name, {**storage_backend.config, "bogus": 1})
