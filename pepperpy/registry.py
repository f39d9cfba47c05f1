"""The one seam through which PepperPy gets providers.

``PepperPy.with_*`` asks the registry for ``(category, provider_name)``. The registry
first looks at providers registered in-process (applications' own classes and test
fakes), then asks its resolver: the plugin manager, which verifies, installs and
imports signed bundles (``PepperPy`` wraps it in ``distribution.autofetch.AutoFetch``,
so a provider nothing offers may come from an index; the registry never imports
distribution code). Both paths end in the same checks: the class implements the
category's interface, and the user's config passes the provider's ``config_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from pepperpy._record import field, record
from pepperpy.config import prepare_config, secret_keys
from pepperpy.core import BaseProvider, PluginLoadError, PluginNotFoundError, ValidationError

__all__ = [
    "CATEGORIES",
    "CATEGORY_NAME",  # noqa: F822  (module __getattr__: compiled on first use)
    "LoadedProvider",
    "ProviderRegistry",
    "ProviderResolver",
    "check_provider_class",
    "interface_for",
]

#: The categories whose interface the core defines. Any other category name is open:
#: its providers only need to be ``BaseProvider`` subclasses, reached with ``pepper.use``.
CATEGORIES = ("llm", "embeddings", "rag", "storage", "tools", "documents")
_CATEGORY_NAME = r"[a-z][a-z0-9_]{0,31}"


def __getattr__(name: str) -> re.Pattern[str]:
    """``CATEGORY_NAME``, compiled on first use: only an open category needs it, and a
    load path that never meets one skips the compile (about 50 us)."""
    if name == "CATEGORY_NAME":
        return re.compile(_CATEGORY_NAME)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def interface_for(category: str) -> type[BaseProvider]:
    """The abstract class a provider of ``category`` must implement (``BaseProvider``
    for a category the core does not define)."""
    if category == "llm":
        from pepperpy.llm import LLMProvider

        return LLMProvider
    if category == "embeddings":
        from pepperpy.embeddings import EmbeddingProvider

        return EmbeddingProvider
    if category == "rag":
        from pepperpy.rag import RAGProvider

        return RAGProvider
    if category == "storage":
        from pepperpy.storage import StorageProvider

        return StorageProvider
    if category == "documents":
        from pepperpy.documents import DocumentLoader

        return DocumentLoader
    if category == "tools":
        from pepperpy.tools import ToolsProvider

        return ToolsProvider
    if not isinstance(category, str) or not re.fullmatch(_CATEGORY_NAME, category):
        raise ValidationError(
            f"invalid provider category {category!r}: a category is 1-32 lowercase letters, "
            f"digits and underscores, starting with a letter (known: {', '.join(CATEGORIES)})"
        )
    return BaseProvider


@record
class LoadedProvider:
    """A provider class ready to instantiate, and the schema its config must pass."""

    provider_class: type[BaseProvider]
    config_schema: Mapping[str, Any] | None = None
    origin: str = "in-process"
    extra: Mapping[str, Any] = field(default_factory=dict)


class ProviderResolver(Protocol):
    """What the plugin manager offers the registry."""

    def resolve(self, category: str, provider_name: str) -> LoadedProvider | None:
        """Verify, install and import the provider; ``None`` if nothing offers it."""

    def available(self, category: str) -> list[str]:
        """Provider names offered for ``category`` (cheap: manifests only)."""


def _hint(resolver: ProviderResolver | None, category: str, provider_name: str) -> str | None:
    """What the resolver suggests for a provider nothing offers (``hint``, optional)."""
    hint = getattr(resolver, "hint", None)
    return hint(category, provider_name) if callable(hint) else None


class ProviderRegistry:
    """Maps ``(category, provider_name)`` to providers and creates them."""

    def __init__(self, resolver: ProviderResolver | None = None) -> None:
        self._local: dict[tuple[str, str], LoadedProvider] = {}
        self._resolved: dict[tuple[str, str], LoadedProvider] = {}
        self.resolver = resolver

    def register(
        self,
        category: str,
        provider_name: str,
        provider_class: type[BaseProvider],
        *,
        config_schema: Mapping[str, Any] | None = None,
    ) -> None:
        """Offer an in-process provider class (it wins over plugins of that name)."""
        self._local[(category, provider_name)] = check_provider_class(
            category, provider_name, LoadedProvider(provider_class, config_schema)
        )

    def available(self, category: str) -> list[str]:
        names = {name for (cat, name) in self._local if cat == category}
        if self.resolver is not None:
            names.update(self.resolver.available(category))
        return sorted(names)

    def load(self, category: str, provider_name: str) -> LoadedProvider:
        key = (category, provider_name)
        interface_for(category)  # validates the category
        found = self._local.get(key) or self._resolved.get(key)
        if found is None and self.resolver is not None:
            found = self.resolver.resolve(category, provider_name)
            if found is not None:
                found = check_provider_class(category, provider_name, found)
                self._resolved[key] = found
        if found is None:
            from pepperpy.suggest import closest

            names = self.available(category)
            offered = ", ".join(names) or "none"
            close = closest(provider_name, names)
            guess = f" (did you mean {close!r}?)" if close else ""
            hint = _hint(self.resolver, category, provider_name) or (
                "check the name" if close else  # a typo: not how to install the typo
                "install it by name from an index (`pepperpy plugin install "
                f"{provider_name} --category {category}` once `pepperpy index add` has "
                "added one) or from a bundle file (`pepperpy plugin install FILE`); in "
                "development, PEPPERPY_DEV=1 also searches "
                "PEPPERPY_PLUGIN_PATH")
            raise PluginNotFoundError(
                f"no {category} provider named {provider_name!r}{guess} (available: "
                f"{offered}); "
                f"{hint}",
                plugin=provider_name,
            )
        return found

    def create(
        self, category: str, provider_name: str, config: Mapping[str, Any]
    ) -> BaseProvider:
        """Load, check the config against the schema, and instantiate."""
        loaded = self.load(category, provider_name)
        label = f"{category} provider {provider_name!r}"
        filled = prepare_config(loaded.config_schema, config, label=label)
        try:
            provider = loaded.provider_class(**filled)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{label}: {exc}") from exc
        provider._pepperpy_provider_name = provider_name  # type: ignore[attr-defined]
        provider._pepperpy_secret_keys = secret_keys(loaded.config_schema)  # type: ignore[attr-defined]
        return provider


def check_provider_class(
    category: str, provider_name: str, loaded: LoadedProvider
) -> LoadedProvider:
    """``loaded`` if its class implements the category's interface completely, else raise."""
    interface = interface_for(category)
    cls = loaded.provider_class
    if not (isinstance(cls, type) and issubclass(cls, interface)):
        raise PluginLoadError(
            f"{category} provider {provider_name!r} ({loaded.origin}) is not a "
            f"{interface.__name__} subclass; its entry point must name one",
            plugin=provider_name,
        )
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise PluginLoadError(
            f"{category} provider {provider_name!r} ({loaded.origin}) does not implement "
            f"{', '.join(missing)} of {interface.__name__}",
            plugin=provider_name,
        )
    return loaded
