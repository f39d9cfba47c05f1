"""Install a missing provider from the configured indexes on first use.

``PepperPy().with_llm("anthropic")`` with no anthropic bundle installed: when
``PEPPERPY_AUTO_FETCH=1`` and an index offers ``llm/anthropic``, :class:`AutoFetch` (the
resolver ``PepperPy`` gives its registry, wrapping the plugin manager) calls
:func:`fetch_missing`, which installs it through exactly the path of ``pepperpy plugin
install`` (TUF checks, then the unchanged bundle verification against the trust store)
and says so on stderr; the plugin manager then loads it as any installed bundle, and
installs its dependencies according to ``PEPPERPY_AUTO_INSTALL``.

Off by default. When off, :func:`fetch_hint` names the command that would fix the
"not found" error, from the last refresh only (no network on an error path).
Index code is imported only when a provider was not found.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pepperpy.registry import LoadedProvider

__all__ = ["AutoFetch", "enabled", "fetch_hint", "fetch_missing"]


class AutoFetch:
    """A provider resolver around the plugin manager: what nothing installed offers is
    installed from an index first (``PEPPERPY_AUTO_FETCH=1``), then resolved again."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.settings = manager.settings

    def resolve(self, category: str, provider_name: str) -> LoadedProvider | None:
        found: LoadedProvider | None = self.manager.resolve(category, provider_name)
        if found is None and fetch_missing(self.manager, category, provider_name):
            found = self.manager.resolve(category, provider_name)
        return found

    def available(self, category: str) -> list[str]:
        return list(self.manager.available(category))

    def hint(self, category: str, provider_name: str) -> str | None:
        return fetch_hint(self.manager, category, provider_name)


def enabled(env: dict[str, str] | None = None) -> bool:
    from pepperpy.distribution.config import AUTO_FETCH_ENV  # not on a plain load's path

    value = (os.environ if env is None else env).get(AUTO_FETCH_ENV, "").strip().lower()
    return value in {"1", "true", "yes", "on"}


def _settings(resolver: Any) -> Any:
    from pepperpy.settings import Settings

    settings = getattr(resolver, "settings", None)
    return settings if isinstance(settings, Settings) else None


def _has_indexes(settings: Any) -> bool:
    return bool(settings is not None and (settings.home / "indexes" / "indexes.json").is_file())


def _pick(offers: list[Any], category: str, provider_name: str) -> Any:
    from pepperpy.distribution import catalog

    fitting = [o for o in offers
               if o.category == category and o.provider_name == provider_name]
    if not fitting:
        return None
    return catalog.choose(fitting, provider_name, category=category)


def fetch_missing(resolver: Any, category: str, provider_name: str) -> bool:
    """Install ``category/provider_name`` from an index; True if something was installed."""
    settings = _settings(resolver)
    if not enabled() or not _has_indexes(settings):
        return False
    from pepperpy.distribution.config import AUTO_FETCH_ENV
    from pepperpy.distribution.fetch import Session

    session = Session(settings, progress=_say)
    offer = _pick(session.offers(), category, provider_name)
    if offer is None:
        return False
    _say(f"pepperpy: {category} provider {provider_name!r} is not installed; installing "
         f"{offer.name} {offer.version} from index {offer.index!r} ({AUTO_FETCH_ENV}=1)")
    outcome = session.install_offer(offer, deps=False)
    _say(f"pepperpy: {outcome.action} {offer.name} {offer.version} "
         f"(verified: index metadata and publisher signature)")
    discover = getattr(resolver, "discover", None)
    if callable(discover):
        discover(refresh=True)
    return True


def fetch_hint(resolver: Any, category: str, provider_name: str) -> str | None:
    """The command that would install the provider, if an index offered it last time."""
    settings = _settings(resolver)
    if not _has_indexes(settings):
        return None
    from pepperpy.core import PepperpyError
    from pepperpy.distribution.config import AUTO_FETCH_ENV
    from pepperpy.distribution.fetch import Session

    try:
        offers = Session(settings).cached_offers(max_age=float("inf"), network=False)
        offer = _pick(offers, category, provider_name)
    except PepperpyError:
        return None
    if offer is None:
        return None
    return (f"index {offer.index!r} offers it: run `pepperpy plugin install {offer.name}`, "
            f"or set {AUTO_FETCH_ENV}=1 to install providers on first use")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
