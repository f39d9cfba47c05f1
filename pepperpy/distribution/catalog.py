"""What a verified targets role offers, and which version to install. No I/O.

An :class:`Offer` is one target's ``custom`` fields, read from targets metadata that
ngclient has already verified. They are the index's claims, used only to choose what
to download: the bundle's own signed manifest decides what is installed, and the
install path checks it again (compatibility, trust, rollback).

Rules:
- a target whose ``custom`` is missing or malformed, or whose sha256 is not 64 hex
  digits, is skipped, never guessed at;
- NAME matches a plugin name exactly, else a provider name; several plugins behind one
  provider name is an error that lists them (pass ``--category`` to choose);
- the version chosen is the highest that is not yanked, admits this PepperPy and this
  Python; a pinned ``==VERSION`` that is yanked is refused, naming the threat.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from pepperpy._record import record
from pepperpy.core import IndexRefusedError, PluginNotFoundError, ValidationError

__all__ = ["Offer", "choose", "first_index_wins", "matching", "newest_by_name", "offer_from_row",
           "offers_from", "parse_spec", "yanked_error"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELDS = ("name", "version", "category", "provider_name")


@record
class Offer:
    """One bundle an index offers."""

    index: str
    path: str
    length: int
    sha256: str
    name: str
    version: str
    category: str
    provider_name: str
    description: str = ""
    pepperpy_compatibility: str | None = None
    python_requires: str | None = None
    key_id: str = ""
    publisher: str = ""
    publisher_key: str = ""
    yanked: bool = False
    yanked_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__match_args__}

    def compatible(self, *, pepperpy_version: str | None = None,
                   python: str | None = None) -> bool:
        """Whether this PepperPy and this Python may run it (as the bundle claims).
        Plain release ranges are compared without importing ``packaging``
        (``pepperpy._versions``); an invalid range means not usable."""
        from pepperpy._versions import admits

        try:
            if self.pepperpy_compatibility and not admits(
                    self.pepperpy_compatibility, pepperpy_version or _pepperpy_version()):
                return False
            running = python or ".".join(map(str, sys.version_info[:3]))
            if self.python_requires and not admits(self.python_requires, running):
                return False
        except ValueError:  # packaging's InvalidSpecifier
            return False
        return True


def _pepperpy_version() -> str:
    import pepperpy

    return str(pepperpy.__version__)


def offers_from(index: str, targets: Mapping[str, Any]) -> list[Offer]:
    """Offers from verified ``TargetFile`` objects (or their JSON dicts), sorted."""
    found = []
    for path, target in targets.items():
        custom = target.custom if hasattr(target, "custom") else target.get("custom")
        length = target.length if hasattr(target, "length") else target.get("length")
        hashes = target.hashes if hasattr(target, "hashes") else target.get("hashes")
        offer = _offer(index, path, length, hashes, custom)
        if offer is not None:
            found.append(offer)
    return sorted(found, key=lambda o: (o.name, _version_key(o.version), o.index))


def _offer(index: str, path: str, length: Any, hashes: Any, custom: Any) -> Offer | None:
    if not isinstance(custom, dict) or not isinstance(hashes, dict):
        return None
    if not all(isinstance(custom.get(f), str) and _NAME.fullmatch(custom[f]) for f in _FIELDS):
        return None
    sha = hashes.get("sha256")
    # the digest names the mirrored file: 64 hex digits, never a path
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha) or not isinstance(length, int):
        return None
    if path != f"{custom['name']}-{custom['version']}.pepperplugin":
        return None
    text = {k: custom.get(k) if isinstance(custom.get(k), str) else None
            for k in ("pepperpy_compatibility", "python_requires")}
    return Offer(
        index=index, path=path, length=length, sha256=sha,
        name=custom["name"], version=custom["version"], category=custom["category"],
        provider_name=custom["provider_name"],
        description=_text(custom.get("description"), 300),
        pepperpy_compatibility=text["pepperpy_compatibility"],
        python_requires=text["python_requires"],
        key_id=_text(custom.get("key_id"), 64), publisher=_text(custom.get("publisher"), 100),
        publisher_key=_text(custom.get("publisher_key"), 64),
        yanked=custom.get("yanked") is True,
        yanked_reason=_text(custom.get("yanked_reason"), 200),
    )


def offer_from_row(index: str, row: Any) -> Offer | None:
    """The offer a cached catalog row (``Offer.as_dict``) records, or None when the row is
    not what :func:`offers_from` writes: any field of another type or out of its rules (a
    damaged cache; the next refresh rebuilds it). The offer is rebuilt by the same rules
    as a verified target's, so a cached field is never used unchecked."""
    if not isinstance(row, dict) or type(row.get("length")) is not int:
        return None
    custom: dict[str, Any] = {k: row.get(k) for k in Offer.__match_args__}
    offer = _offer(index, custom["path"], custom["length"], {"sha256": custom["sha256"]},
                   custom)
    if offer is None:
        return None
    rebuilt = offer.as_dict()
    # a field missing from an older cache takes its default; one present must be the same
    # value of the same type (``1 == True`` would pass a plain comparison)
    same = all(type(row.get(k, v)) is type(v) and row.get(k, v) == v
               for k, v in rebuilt.items())
    return offer if same else None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


@functools.total_ordering
class _Version:
    """A PEP 440 version for sorting. A plain release number (``1.2.0``: what indexes
    list) compares as its numbers without trailing zeros, which is PEP 440's order for
    such versions; anything else, or a comparison with anything else, goes to
    ``packaging`` (whose import costs more than a no-change ``plugin update``'s own work).
    ``tests/distribution/test_catalog_versions.py`` checks both orders agree."""

    __slots__ = ("parsed", "release", "text")

    def __init__(self, text: str, release: tuple[int, ...] | None, parsed: Any = None) -> None:
        self.text, self.release, self.parsed = text, release, parsed

    def _packaging(self) -> Any:
        if self.parsed is None:
            from packaging.version import Version

            self.parsed = Version(self.text)
        return self.parsed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Version):
            return NotImplemented
        if self.release is not None and other.release is not None:
            return self.release == other.release
        return bool(self._packaging() == other._packaging())

    def __lt__(self, other: _Version) -> bool:
        if self.release is not None and other.release is not None:
            return self.release < other.release
        return bool(self._packaging() < other._packaging())

    def __hash__(self) -> int:
        return hash(self._packaging())


_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def _version_key(version: str) -> Any:
    """``(1, version)`` sorting as PEP 440 does; ``(0, text)`` for an invalid version."""
    if _RELEASE.fullmatch(version):
        release = tuple(int(part) for part in version.split("."))
        while len(release) > 1 and release[-1] == 0:
            release = release[:-1]
        return (1, _Version(version, release))
    from packaging.version import InvalidVersion, Version

    try:
        return (1, _Version(version, None, Version(version)))
    except InvalidVersion:
        return (0, version)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME==VERSION``; anything else is a usage error."""
    name, sep, version = spec.strip().partition("==")
    if not _NAME.fullmatch(name) or (sep and not _NAME.fullmatch(version)):
        raise ValidationError(
            f"{spec[:80]!r} is not NAME or NAME==VERSION (NAME: a provider name such as "
            "`openai`, or a plugin name); a bundle file must end in .pepperplugin"
        )
    return name, (version if sep else None)


def matching(offers: Iterable[Offer], name: str, *, category: str | None = None) -> list[Offer]:
    """Offers for one plugin: NAME as a plugin name first, else as a provider name."""
    pool = [o for o in offers if category is None or o.category == category]
    exact = [o for o in pool if o.name == name]
    if exact:
        return exact
    by_provider = [o for o in pool if o.provider_name == name]
    plugins = sorted({(o.name, o.category) for o in by_provider})
    if len(plugins) > 1:
        listed = ", ".join(f"{n} ({c})" for n, c in plugins)
        raise ValidationError(
            f"{name!r} is offered by several plugins: {listed}; name one, or pass "
            f"--category (e.g. `pepperpy plugin install {name} --category {plugins[0][1]}`)"
        )
    return by_provider


def first_index_wins(offers: Iterable[Offer], order: list[str]) -> list[Offer]:
    """The offers of each provider slot (``category/provider``) from the first index in
    ``order`` that lists it: when two indexes offer one slot, the operator's order
    decides, never the higher version number a later index claims."""
    offers = list(offers)
    rank = {name: i for i, name in enumerate(order)}
    owner: dict[tuple[str, str], str] = {}
    for o in sorted(offers, key=lambda o: rank.get(o.index, len(rank))):
        owner.setdefault((o.category, o.provider_name), o.index)
    return [o for o in offers if owner[(o.category, o.provider_name)] == o.index]


def choose(offers: Iterable[Offer], name: str, version: str | None = None, *,
           category: str | None = None, skipped: Iterable[str] = ()) -> Offer:
    """The offer to install for ``NAME[==VERSION]``, or an error that says what to do."""
    offers = list(offers)
    found = matching(offers, name, category=category)
    if not found:
        plugins = sorted({(o.name, o.provider_name) for o in offers if o.category == name})
        if plugins:
            listed = ", ".join(f"{n} (provider {p})" for n, p in plugins)
            raise PluginNotFoundError(
                f"{name!r} is a category, not a plugin: your indexes offer {listed}; "
                f"install one by name (`pepperpy plugin install {plugins[0][0]}`); "
                f"`pepperpy plugin search {name}` lists them with their versions",
                plugin=name,
            )
        from pepperpy.suggest import closest

        close = closest(name, {o.name for o in offers} | {o.provider_name for o in offers})
        also = f" (did you mean {close!r}?)" if close else ""
        down = ", ".join(repr(s) for s in skipped)
        also += f" (index {down} could not be read, see above)" if down else ""
        raise PluginNotFoundError(
            f"no index offers a plugin or provider named {name!r}{also}; see "
            "`pepperpy plugin search` and `pepperpy index list`", plugin=name,
        )
    if version is not None:
        pinned = [o for o in found if o.version == version]
        if not pinned:
            have = ", ".join(sorted({o.version for o in found}, key=_version_key))
            raise PluginNotFoundError(
                f"{found[0].name} {version} is not in any index (offered: {have})",
                plugin=found[0].name,
            )
        offer = pinned[0]
        if offer.yanked:
            raise yanked_error(offer)
        return offer
    usable = [o for o in found if not o.yanked and o.compatible()]
    if not usable:
        raise PluginNotFoundError(
            f"{found[0].name}: no version in the index is usable here (every one is yanked "
            "or needs another PepperPy or Python); see `pepperpy plugin search "
            f"{found[0].name}`", plugin=found[0].name,
        )
    return max(usable, key=lambda o: _version_key(o.version))


def yanked_error(offer: Offer) -> IndexRefusedError:
    """The refusal to install a yanked version, with the publisher's reason."""
    reason = f": {offer.yanked_reason}" if offer.yanked_reason else ""
    return IndexRefusedError(
        f"{offer.name} {offer.version} was yanked by index {offer.index!r} (the publisher "
        f"withdrew it{reason}); install another version (`pepperpy plugin search "
        f"{offer.name}` lists them)", threat="yanked", index=offer.index, plugin=offer.name,
    )


def newest_by_name(offers: Iterable[Offer]) -> dict[str, Offer]:
    """Highest usable version of each plugin name (for update and outdated)."""
    best: dict[str, Offer] = {}
    for o in offers:
        if o.yanked or not o.compatible():
            continue
        if o.name not in best or _version_key(o.version) > _version_key(best[o.name].version):
            best[o.name] = o
    return best


def newer(candidate: str, installed: str) -> bool:
    return bool(_version_key(candidate) > _version_key(installed))
