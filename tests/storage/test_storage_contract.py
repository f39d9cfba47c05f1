"""The storage contract, run against sqlite and PostgreSQL alike."""

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


async def test_put_then_get_round_trips_nested_json(storage: StorageProvider) -> None:
    await storage.put("app", "conv:1", NESTED)
    assert await storage.get("app", "conv:1") == NESTED


@pytest.mark.parametrize("value", ["text", 42, 3.5, True, [1, "two", None], {}], ids=repr)
async def test_scalar_and_list_values_round_trip(storage: StorageProvider, value: object) -> None:
    await storage.put("app", "k", value)
    assert await storage.get("app", "k") == value


async def test_put_replaces_the_previous_value(storage: StorageProvider) -> None:
    await storage.put("app", "k", {"v": 1})
    await storage.put("app", "k", {"v": 2, "extra": [1]})
    assert await storage.get("app", "k") == {"v": 2, "extra": [1]}
    assert await storage.list("app") == ["k"]


async def test_get_missing_key_is_none(storage: StorageProvider) -> None:
    assert await storage.get("app", "nope") is None


async def test_delete_reports_whether_the_key_existed(storage: StorageProvider) -> None:
    await storage.put("app", "k", 1)
    assert await storage.delete("app", "k") is True
    assert await storage.get("app", "k") is None
    assert await storage.delete("app", "k") is False


async def test_namespaces_are_isolated(storage: StorageProvider) -> None:
    await storage.put("one", "k", "first")
    await storage.put("two", "k", "second")
    assert await storage.get("one", "k") == "first"
    assert await storage.get("two", "k") == "second"
    await storage.delete("one", "k")
    assert await storage.get("two", "k") == "second"
    assert await storage.list("one") == []
    assert await storage.list("two") == ["k"]


KEYS = ["a%b", "a_b", "axb", "a%", "ab", "A", "b", "añ", "a", "a\\b", "a[1]", "a*"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", sorted(KEYS)),
        ("a%", ["a%", "a%b"]),
        ("a_", ["a_b"]),
        ("a\\", ["a\\b"]),
        ("a[", ["a[1]"]),
        ("a*", ["a*"]),
        ("A", ["A"]),
        ("añ", ["añ"]),
        ("zzz", []),
    ],
    ids=["all", "percent", "underscore", "backslash", "bracket", "star", "case", "unicode", "none"],
)
async def test_list_matches_prefix_literally_and_sorts(
    storage: StorageProvider, prefix: str, expected: list[str]
) -> None:
    for key in KEYS:
        await storage.put("ns", key, key)
    await storage.put("other", "a%b", "elsewhere")
    assert await storage.list("ns", prefix=prefix) == expected


@pytest.mark.parametrize(
    "value",
    [object(), float("nan"), float("inf"), {1, 2}, {"nested": [b"bytes"]}],
    ids=["object", "nan", "inf", "set", "bytes"],
)
async def test_non_json_values_are_refused_naming_the_key(
    storage: StorageProvider, value: object
) -> None:
    with pytest.raises(ValidationError, match="'the-key'"):
        await storage.put("app", "the-key", value)
    assert await storage.get("app", "the-key") is None


@pytest.mark.parametrize("key", ["", "nul\x00byte"], ids=["empty", "nul"])
async def test_bad_keys_are_refused(storage: StorageProvider, key: str) -> None:
    with pytest.raises(ValidationError):
        await storage.put("app", key, 1)


async def test_concurrent_tasks_on_one_provider(storage: StorageProvider) -> None:
    async def writer(n: int) -> None:
        for i in range(20):
            await storage.put("conc", f"w{n}:{i:02d}", {"n": n, "i": i})
            await storage.put("conc", "shared", {"n": n, "i": i})

    await asyncio.gather(*(writer(n) for n in range(8)))
    keys = await storage.list("conc", prefix="w")
    assert len(keys) == 8 * 20
    assert await storage.get("conc", "w7:19") == {"n": 7, "i": 19}
    shared = await storage.get("conc", "shared")
    assert shared["i"] == 19  # each writer's last put; one of them won


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
