"""Storage interface: namespaced JSON documents (used for conversation history)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from pepperpy.core import BaseProvider

__all__ = ["JSONValue", "StorageProvider"]

JSONValue = Any  # dict, list, str, int, float, bool or None, nested


class StorageProvider(BaseProvider, abc.ABC):
    """Interface every storage provider implements.

    Values are JSON documents; ``put`` replaces atomically. Namespaces keep
    applications (and PepperPy's own history) apart.
    """

    category: ClassVar[str] = "storage"

    @abc.abstractmethod
    async def put(self, namespace: str, key: str, value: JSONValue) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""

    @abc.abstractmethod
    async def get(self, namespace: str, key: str) -> JSONValue | None:
        """The stored value, or ``None`` when there is none."""

    @abc.abstractmethod
    async def delete(self, namespace: str, key: str) -> bool:
        """Remove a key; return whether it existed."""

    @abc.abstractmethod
    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        """Keys in ``namespace`` starting with ``prefix``, sorted."""
