"""A response cache for identical LLM requests, kept in the configured storage provider.

Invariants:
- a request is cacheable only when its answer is meant to be repeatable: temperature 0
  or an explicit seed (unless the user allows any temperature), no tool results in it;
- only finished answers are kept: never errors, never a round that calls tools; an
  answer a fallback served is kept under the same request (the key names the chain);
- the key is a SHA-256 over the full request identity: every provider of the chain with
  a fingerprint of its whole configuration (model, base URL, credentials: two tenants or
  two accounts sharing storage never share an entry), the messages and every option
  (tools, schema, temperature, seed, max_tokens, stop), so any difference misses;
- nothing stored is trusted: an entry must carry a check only the same request identity
  produces (a hash that includes the credentials fingerprint) and a well-formed result,
  else it is a miss, never an error and never a served answer;
- entries live in storage (sqlite on one machine, PostgreSQL across a fleet) with an
  expiry time, and in a small in-process LRU in front of it for speed.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from pepperpy.core import ConfigurationError
from pepperpy.llm import GenerationOptions, GenerationResult, Message, MessageRole, Usage
from pepperpy.storage import StorageProvider

__all__ = ["NAMESPACE", "ResponseCache", "check_ttl"]

NAMESPACE = "pepperpy-cache"
_FORMAT = 1
MAX_TTL = 365 * 24 * 3600.0


def check_ttl(ttl: Any) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not (
        math.isfinite(ttl) and 0 < ttl <= MAX_TTL
    ):
        raise ConfigurationError(
            f"with_cache(): ttl must be a number of seconds above 0 and at most one year, "
            f"got {ttl!r}"
        )
    return float(ttl)


class ResponseCache:
    """Get and put answers by request key; storage comes from ``storage()``."""

    def __init__(
        self,
        storage: Callable[[], Awaitable[StorageProvider]],
        *,
        ttl: float,
        any_temperature: bool = False,
        memory_items: int = 256,
    ) -> None:
        self._storage = storage
        self.ttl = ttl
        self.any_temperature = any_temperature
        self._memory: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._memory_items = memory_items

    def key(
        self,
        chain: Sequence[tuple[str, Mapping[str, Any]]],
        model: str,
        messages: Sequence[Message],
        options: GenerationOptions,
        temperature: float | None,
    ) -> str | None:
        """The entry's key, or ``None`` when this request must not be cached.

        ``chain`` is each provider's name and configuration, primary first.
        """
        if not self.any_temperature and temperature != 0 and options.seed is None:
            return None
        if any(m.role is MessageRole.TOOL for m in messages):
            return None
        return _digest("key", self._identity(chain, model, messages, options, temperature))

    @staticmethod
    def _identity(chain: Sequence[tuple[str, Mapping[str, Any]]], model: str,
                  messages: Sequence[Message], options: GenerationOptions,
                  temperature: float | None) -> str:
        fmt = options.response_format
        request = {
            "v": _FORMAT, "model": model,
            "chain": [[name, _digest("config", _canonical(dict(config)))]
                      for name, config in chain],
            "messages": [m.to_dict() for m in messages],
            "tools": [[t.name, t.description, t.parameters] for t in options.tools],
            "schema": [fmt.name, fmt.schema] if fmt else None,
            "temperature": temperature, "seed": options.seed,
            "max_tokens": options.max_tokens, "stop": list(options.stop),
            "options": {f.name: getattr(options, f.name) for f in fields(options)
                        if f.name not in ("tools", "response_format")},
        }
        return _canonical(request)

    async def get(self, key: str) -> GenerationResult | None:
        now = time.time()
        hit = self._memory.get(key)
        if hit is not None and hit[0] > now:
            self._memory.move_to_end(key)
            return _result(hit[1])
        storage = await self._storage()
        entry = await storage.get(NAMESPACE, key)
        result = _checked(entry, key, now)
        if result is None:
            if entry is not None:  # expired, malformed or foreign: never served
                await storage.delete(NAMESPACE, key)
            return None
        assert isinstance(entry, dict)  # _checked said so
        self._remember(key, entry["expires"], entry["result"])
        return result

    async def put(self, key: str, result: GenerationResult) -> None:
        if result.tool_calls:  # a tool round in progress is never an answer to keep
            return
        data = _data(result)
        expires = time.time() + self.ttl
        await (await self._storage()).put(
            NAMESPACE, key, {"v": _FORMAT, "check": _digest("check", key), "expires": expires,
                             "result": data}
        )
        self._remember(key, expires, data)

    def _remember(self, key: str, expires: float, data: dict[str, Any]) -> None:
        self._memory[key] = (expires, data)
        self._memory.move_to_end(key)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _digest(domain: str, text: str) -> str:
    return hashlib.sha256(f"pepperpy-cache/{domain}\0{text}".encode()).hexdigest()


def _checked(entry: Any, key: str, now: float) -> GenerationResult | None:
    """The answer in ``entry`` if it is live, well-formed and made for ``key``."""
    if not isinstance(entry, dict) or entry.get("v") != _FORMAT:
        return None
    if entry.get("check") != _digest("check", key):
        return None  # written by something that did not know the request identity
    expires = entry.get("expires")
    if isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= now:
        return None
    try:
        return _result(entry["result"])
    except (KeyError, TypeError, ValueError):
        return None


def _data(result: GenerationResult) -> dict[str, Any]:
    usage = result.usage
    metadata = {k: v for k, v in result.metadata.items() if _json_safe(v)}
    return {
        "content": result.content, "finish_reason": result.finish_reason,
        "model": result.model, "provider": result.provider, "metadata": metadata,
        "usage": [usage.prompt_tokens, usage.completion_tokens] if usage else None,
    }


def _result(data: Any) -> GenerationResult:
    """A result from stored data; ``TypeError`` or ``ValueError`` if it is malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), str):
        raise TypeError("malformed entry")
    usage = data.get("usage")
    if usage is not None and not (isinstance(usage, list) and len(usage) == 2 and all(
            isinstance(n, int) and not isinstance(n, bool) for n in usage)):
        raise TypeError("malformed usage")
    for name in ("finish_reason", "model", "provider"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise TypeError(f"malformed {name}")
    if not isinstance(data.get("metadata") or {}, dict):
        raise TypeError("malformed metadata")
    return GenerationResult(
        content=data["content"], finish_reason=data.get("finish_reason"),
        model=data.get("model"), provider=data.get("provider"),
        usage=Usage(*usage) if usage else None, metadata=dict(data.get("metadata") or {}),
        cached=True,
    )


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
