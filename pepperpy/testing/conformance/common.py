"""Rules every category shares: lifecycle, errors, secrets and cancellation.

Each category module passes an ``exercise`` coroutine (one ordinary call, such as a
short ``generate``) and gets the shared rules back, named ``<category>.lifecycle...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from pepperpy.core import (
    AuthenticationError,
    BadRequestError,
    PepperpyError,
)
from pepperpy.testing.conformance._rules import Harness, Rule, describe, rule_list

__all__ = ["shared_rules"]

Exercise = Callable[[Any], Awaitable[object]]


def shared_rules(category: str, exercise: Exercise) -> list[Rule]:
    """The lifecycle, error and cancellation rules for ``category``."""
    rules, rule = rule_list()

    @rule(f"{category}.lifecycle.initialize_then_cleanup",
          "initialize() sets `initialized`, the provider works, and cleanup() returns "
          "normally and clears `initialized`",
          "call `await super().initialize()` last in initialize() and "
          "`await super().cleanup()` in cleanup(); catch and log errors while closing "
          "instead of raising them")
    async def _lifecycle(h: Harness) -> None:
        provider = h.new()
        await provider.initialize()
        h.check(provider.initialized, "`initialized` is False after initialize()")
        await exercise(provider)
        try:
            await provider.cleanup()
        except Exception as exc:
            h.opened.remove(provider)
            h.fail(f"cleanup() raised {describe(exc)}")
        h.check(not provider.initialized, "`initialized` is still True after cleanup()")

    @rule(f"{category}.lifecycle.cleanup_after_failed_initialize",
          "cleanup() returns normally on a provider whose initialize() never ran or failed "
          "(PepperPy always calls it)",
          "in cleanup(), release only what initialize() acquired: test attributes for None, "
          "or register resources with self.close_on_cleanup(...)")
    async def _cleanup_alone(h: Harness) -> None:
        provider = h.new()
        try:
            await provider.cleanup()
        except Exception as exc:
            h.fail(f"cleanup() without initialize() raised {describe(exc)}")

    @rule(f"{category}.errors.use_before_initialize",
          "using a provider before initialize() works or raises a PepperpyError",
          "call self.require_initialized() at the top of each method that needs "
          "initialize()'s resources")
    async def _before_init(h: Harness) -> None:
        provider = h.new()
        try:
            await asyncio.wait_for(exercise(provider), 30)
        except PepperpyError:
            return
        except Exception as exc:
            h.fail(f"a call before initialize() raised {describe(exc)}")

    @rule(f"{category}.errors.secrets_hidden",
          "no secret config value (an option marked \"secret\": true or named like a key) "
          "appears in repr(provider), in a log record, in a result, or in an error (its "
          "message, repr or the errors it was raised from)",
          "mark credentials \"secret\": true in config_schema; never override __repr__ to "
          "print self.config, log the config or a client's headers, copy options into a "
          "result's metadata, or quote them in errors (error_for_status(..., secret=key))")
    async def _secrets(h: Harness) -> None:
        secrets = h.secrets()
        if not secrets:
            h.skip("the config holds no secret values")
        with captured_logs() as records:
            provider = await h.open()
            shown = [("repr(provider)", repr(provider) + str(provider))]
            shown += await _outcome_text(exercise, provider, "a call")
            if h.wire is not None and h.has_option("model"):
                failing = await h.open(model="error-401")
                shown += await _outcome_text(exercise, failing, "a refused call")
        shown += [(f"a log record of {r.name!r}", _log_text(r)) for r in records]
        for where, text in shown:
            h.check(not any(s in text for s in secrets), f"a secret value in {where}")

    @rule(f"{category}.errors.provider_errors",
          "service failures surface as PepperpyError subclasses: 401 as "
          "AuthenticationError, 400 as BadRequestError, and no message holds the API key",
          "catch the SDK's exceptions at every call and raise pepperpy errors `from` them; "
          "pepperpy.http_errors.error_for_status(..., secret=api_key) does the mapping")
    async def _provider_errors(h: Harness) -> None:
        if h.wire is None:
            h.skip("needs a loopback wire server (wire = 'openai' or 'anthropic')")
        if not h.has_option("model"):
            h.skip("the config has no `model` option to choose the server's error mode")
        for status, expected in ((401, AuthenticationError), (400, BadRequestError)):
            provider = await h.open(model=f"error-{status}")
            try:
                await asyncio.wait_for(exercise(provider), 30)
            except PepperpyError as exc:
                h.check(isinstance(exc, expected),
                        f"HTTP {status} raised {describe(exc)}, not {expected.__name__}")
                text = f"{exc} {exc!r}"
                h.check(not any(s in text for s in h.secrets()),
                        f"the HTTP {status} error message contains the API key")
            except Exception as exc:
                h.fail(f"HTTP {status} raised {describe(exc)}, not a PepperpyError")
            else:
                h.fail(f"HTTP {status} from the server raised nothing")

    @rule(f"{category}.cancel.usable_after_cancel",
          "a call cancelled mid-flight raises CancelledError (or finishes) and leaves the "
          "provider usable for the next call",
          "do not hold locks or half-updated state across `await`; use `async with` for "
          "locks and clients so cancellation unwinds them")
    async def _cancel(h: Harness) -> None:
        provider = await h.open()
        slow = h.wire is not None and h.has_option("model")
        victim = await h.open(model="slow") if slow else provider
        task = asyncio.ensure_future(exercise(victim))
        await asyncio.sleep(0.2 if slow else 0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except PepperpyError:
                pass
            except Exception as exc:
                h.fail(f"the cancelled call raised {describe(exc)}")
        try:
            await asyncio.wait_for(exercise(provider), 60)
        except Exception as exc:
            h.fail(f"the call after a cancelled one raised {describe(exc)}")

    return rules


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record emitted meanwhile, at any level, from any logger."""
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = _Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _log_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a bad format string: look at the parts
        text = f"{record.msg!r} {record.args!r}"
    return f"{text} {record.exc_text or ''} {record.__dict__!r}"


async def _outcome_text(exercise: Exercise, provider: Any, label: str
                        ) -> list[tuple[str, str]]:
    """What a call shows: its result's repr, or its error's text down the chain."""
    try:
        result = await asyncio.wait_for(exercise(provider), 60)
    except Exception as exc:
        chain: list[str] = []
        seen: BaseException | None = exc
        while seen is not None and len(chain) < 10:
            chain.append(f"{seen} {seen!r} {getattr(seen, 'args', '')!r}")
            seen = seen.__cause__ or seen.__context__
        return [(f"the error {label} raised", " ".join(chain))]
    return [(f"the result of {label}", f"{result!r} {getattr(result, '__dict__', '')!r}")]
