"""The publisher keys an index names, and how trusting them would widen a trust store
(``index add --trust-publishers``, ``index trust``, and settling a crashed add). No I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pepperpy._record import record

if TYPE_CHECKING:
    from pepperpy.trust.types import TrustSnapshot

__all__ = ["PublisherKey", "TrustChange", "widening"]


@record
class PublisherKey:
    """A publisher key an index names, with the plugins it signs there."""

    key_id: str
    publisher: str
    pem: bytes
    names: tuple[str, ...]
    #: ``name@category/provider`` for each: what the key is trusted for when imported
    slots: tuple[str, ...] = ()


@record
class TrustChange:
    """What ``index trust`` would add: a new key, or new slots for a scoped key."""

    key: PublisherKey
    slots: tuple[str, ...]
    new_key: bool


def widening(keys: list[PublisherKey], store: TrustSnapshot) -> list[TrustChange]:
    """What trusting ``keys`` for their slots would add to ``store`` (nothing: it holds
    them all, or a key is revoked there and stays so)."""
    changes = []
    for key in keys:
        held = store.get(key.key_id)
        if held is None:
            changes.append(TrustChange(key, key.slots, True))
        elif held.revoked_at is None and held.only is not None:
            plain = {o for o in held.only if "@" not in o}  # a name: any of its slots
            extra = tuple(s for s in key.slots
                          if s not in held.only and s.split("@")[0] not in plain)
            if extra:
                changes.append(TrustChange(key, extra, False))
    return changes
