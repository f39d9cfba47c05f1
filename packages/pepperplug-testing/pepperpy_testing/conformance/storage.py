"""The storage contract: namespaced JSON documents with put/get/delete/list."""

from __future__ import annotations

import asyncio
from typing import Any

from pepperpy.core import PepperpyError
from pepperpy.storage import StorageProvider
from pepperpy_testing.conformance._rules import Harness, describe, rule_list
from pepperpy_testing.conformance.common import shared_rules

__all__ = ["STORAGE_RULES"]

NESTED = {
    "messages": [{"role": "user", "content": 'héllo "quoted" \\ back\nslash ✓'},
                 {"role": "assistant", "content": "", "tokens": 12, "score": 0.25}],
    "flags": [True, False, None],
    "big": 2**53,
    "empty": {"list": [], "dict": {}},
}
KEYS = ["a%b", "a_b", "axb", "a%", "ab", "A", "b", "añ", "a", "a\\b", "a[1]", "a*"]


async def _get(provider: StorageProvider) -> Any:
    return await provider.get("conformance", "probe")


rules, rule = rule_list()


@rule("storage.round_trip",
      "put() then get() returns an equal JSON value (nested objects, unicode, bools, null); "
      "get() of a missing key returns None",
      "store json.dumps(value) and return json.loads(stored); return None when absent")
async def _round_trip(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    for value in (NESTED, "text", 42, 3.5, True, [1, "two", None]):
        await provider.put("app", "k", value)
        got = await provider.get("app", "k")
        h.check(got == value, f"put {value!r:.60} but got {got!r:.60}")
    missing = await provider.get("app", "missing")
    h.check(missing is None, f"get() of a missing key returned {missing!r}")


@rule("storage.replace",
      "put() on an existing key replaces its value and keeps one key",
      "upsert (INSERT ... ON CONFLICT DO UPDATE) rather than insert")
async def _replace(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    await provider.put("app", "k", {"v": 1})
    await provider.put("app", "k", {"v": 2})
    got = await provider.get("app", "k")
    h.check(got == {"v": 2}, f"get() after the second put returned {got!r}")
    keys = await provider.list("app")
    h.check(keys == ["k"], f"list() is {keys!r}")


@rule("storage.delete",
      "delete() returns True when the key existed, False otherwise, and the key is gone",
      "return whether a row was removed (rowcount > 0)")
async def _delete(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    await provider.put("app", "k", 1)
    first = await provider.delete("app", "k")
    h.check(first is True, f"delete() of an existing key returned {first!r}")
    h.check(await provider.get("app", "k") is None, "the key is still there")
    again = await provider.delete("app", "k")
    h.check(again is False, f"delete() of a missing key returned {again!r}")


@rule("storage.list_prefix",
      "list(prefix=...) returns only the namespace's keys starting with the prefix, "
      "matched literally (no wildcards: %, _, [, *), sorted",
      "filter with key.startswith(prefix) (or escape LIKE wildcards) and sort the keys")
async def _prefix(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    for key in KEYS:
        await provider.put("ns", key, key)
    await provider.put("other", "a%b", "elsewhere")
    everything = await provider.list("ns")
    h.check(everything == sorted(KEYS), f"list() is {everything!r}")
    for prefix in ("a%", "a_", "a\\", "a[", "a*", "A", "añ", "zzz"):
        expected = sorted(k for k in KEYS if k.startswith(prefix))
        got = await provider.list("ns", prefix=prefix)
        h.check(got == expected, f"list(prefix={prefix!r}) is {got!r}, not {expected!r}")


@rule("storage.namespaces",
      "namespaces are isolated: the same key in two namespaces holds two values, and "
      "delete and list see only their own",
      "make the namespace part of the primary key and of every query")
async def _namespaces(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    await provider.put("one", "k", "first")
    await provider.put("two", "k", "second")
    h.check(await provider.get("one", "k") == "first", "namespace one lost its value")
    await provider.delete("one", "k")
    h.check(await provider.get("two", "k") == "second", "delete() reached another namespace")
    h.check(await provider.list("one") == [], "list() of an emptied namespace is not []")
    h.check(await provider.list("two") == ["k"], "list() does not keep to its namespace")


@rule("storage.concurrent_puts",
      "many concurrent put() calls on one provider all land",
      "use a connection pool or an asyncio.Lock around a single connection")
async def _concurrent(h: Harness) -> None:
    provider: StorageProvider = await h.open()

    async def writer(n: int) -> None:
        for i in range(10):
            await provider.put("conc", f"w{n}:{i:02d}", {"n": n, "i": i})

    await asyncio.gather(*(writer(n) for n in range(8)))
    keys = await provider.list("conc", prefix="w")
    h.check(len(keys) == 80, f"{len(keys)} of 80 concurrently written keys are there")
    got = await provider.get("conc", "w7:09")
    h.check(got == {"n": 7, "i": 9}, f"w7:09 holds {got!r}")


@rule("storage.errors.not_json",
      "put() of a value that is not JSON (an object, NaN) raises a PepperpyError naming "
      "the key, and stores nothing",
      "json.dumps(value, allow_nan=False) inside try/except (TypeError, ValueError) and "
      "raise pepperpy.ValidationError(f'... {key!r} ...') from the error")
async def _not_json(h: Harness) -> None:
    provider: StorageProvider = await h.open()
    for value in (object(), float("nan")):
        try:
            await provider.put("app", "the-key", value)
        except PepperpyError as exc:
            h.check("the-key" in str(exc), f"the error does not name the key: {exc}")
        except Exception as exc:
            h.fail(f"put() of {type(value).__name__} raised {describe(exc)}")
        else:
            h.fail(f"put() accepted a {type(value).__name__} value")
        h.check(await provider.get("app", "the-key") is None, "a bad value was stored")


STORAGE_RULES = (*rules, *shared_rules("storage", _get))
