"""The names a user types for an installed plugin: its plugin name (``llm_openai_provider``)
or its provider name (``openai``), as ``plugin install`` takes them; with a suggestion
when neither matches ("did you mean 'openai'?")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["did_you_mean", "installed_name"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or an empty string."""
    from pepperpy.suggest import closest  # only when a name is not found

    close = closest(name, known)
    return f" (did you mean {close!r}?)" if close else ""


def installed_name(name: str, settings: Any, *, category: str | None = None,
                   removing: bool = False) -> str:
    """The installed plugin ``name`` means: a plugin name, else a provider name.

    ``removing``: the hint for a name not installed says there is nothing to remove,
    not how to install it."""
    from pepperpy.core import PluginNotFoundError, ValidationError
    from pepperpy.plugins.state import load_state

    plugins = load_state(settings.state_file).plugins
    if name in plugins:
        return name
    by_provider = sorted(n for n, r in plugins.items() if r.provider_name == name
                         and (category is None or r.category == category))
    if len(by_provider) == 1:
        return by_provider[0]
    if by_provider:
        listed = ", ".join(f"{n} ({plugins[n].category})" for n in by_provider)
        raise ValidationError(f"{name!r} names several installed plugins: {listed}; "
                              "give the plugin name")
    in_category = sorted(n for n, r in plugins.items() if r.category == name)
    offered, damaged = ([], []) if in_category else offered_in_category(name, settings)
    if in_category or offered or _is_known_category(name):
        raise PluginNotFoundError(_category_hint(name, in_category, plugins, offered,
                                                 damaged), plugin=name)
    known = [*plugins, *(r.provider_name for r in plugins.values())]
    installed = ", ".join(sorted(plugins)) or "none"
    why, fix = ((", so there is nothing to remove", "`pepperpy plugin list` shows what is "
                 "installed") if removing else
                ("", f"see `pepperpy plugin list`, or install it with "
                     f"`pepperpy plugin install {name}`"))
    raise PluginNotFoundError(
        f"{name!r} is not installed{did_you_mean(name, known)}: no installed plugin or "
        f"provider has that name{why} (installed: {installed}); {fix}"
        f"{_damaged_note(damaged)}", plugin=name,
    )


def _is_known_category(name: str) -> bool:
    from pepperpy.registry import CATEGORIES

    return name in CATEGORIES


def offered_in_category(category: str, settings: Any
                        ) -> tuple[list[tuple[str, str]], list[str]]:
    """``(plugin, provider)`` of each plugin the indexes offered in ``category`` at their
    last refresh (no network), and the indexes whose cached catalog is damaged (they offer
    nothing here: the cache is only a hint, and the next refresh rebuilds it)."""
    from pepperpy.core import PepperpyError

    if not (settings.home / "indexes" / "indexes.json").is_file():
        return [], []  # no index: nothing to read (and no store to create)
    from pepperpy.distribution.catalog import offer_from_row
    from pepperpy.distribution.store import IndexStore

    store = IndexStore(settings)
    try:
        names = [c.name for c in store.list()]
    except PepperpyError:
        return [], []  # a broken index store: other commands name it
    found: set[tuple[str, str]] = set()
    damaged = []
    for index in names:
        rows: list[Any]
        try:
            rows = store.read_catalog(index, max_age=float("inf")) or []
        except PepperpyError:
            rows = [None]  # unreadable: counted as damaged below
        offers = [offer_from_row(index, row) for row in rows]
        if None in offers:
            damaged.append(index)
            continue
        found.update((o.name, o.provider_name) for o in offers
                     if o is not None and o.category == category)
    return sorted(found), damaged


def _damaged_note(damaged: list[str]) -> str:
    if not damaged:
        return ""
    if len(damaged) == 1:
        what, it = f"the cached catalog of index {damaged[0]!r} is damaged", "it"
    else:
        names = ", ".join(map(repr, damaged))
        what, it = f"the cached catalogs of indexes {names} are damaged", "them"
    return f" ({what}; `pepperpy plugin search --refresh` rebuilds {it})"


def _category_hint(name: str, in_category: list[str], plugins: Mapping[str, Any],
                   offered: list[tuple[str, str]], damaged: list[str]) -> str:
    """A category given where a plugin name belongs: its installed plugins, or the ones
    the indexes offer, or how to find one."""
    if in_category:
        listed = ", ".join(f"{n} (provider {plugins[n].provider_name})" for n in in_category)
        return (f"{name!r} is a category, not a plugin: give one of its installed plugins "
                f"by name: {listed}; `pepperpy plugin list` lists every installed plugin")
    found = _damaged_note(damaged)
    if offered:
        listed = ", ".join(f"{n} (provider {p})" for n, p in offered)
        found = f" (your indexes offer {listed})"
    return (f"{name!r} is a category, not a plugin, and no plugin of it is installed"
            f"{found}; `pepperpy plugin search {name}` lists the ones your indexes offer, "
            f"and `pepperpy plugin install NAME --category {name}` installs one")
