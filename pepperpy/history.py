"""Conversation history kept in the configured storage provider.

Each message is its own JSON document, in the namespace ``pepperpy:history:<id>``,
under a key that sorts by time (nanoseconds, then a random tag, then its position in
the exchange). Appending only adds keys, never rewrites a list, so two writers on one
conversation cannot lose each other's turns.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from pepperpy.core import ValidationError
from pepperpy.llm import Message
from pepperpy.storage import StorageProvider

__all__ = ["HISTORY_NAMESPACE", "ConversationHistory"]

HISTORY_NAMESPACE = "pepperpy:history"


class ConversationHistory:
    """Load and append the messages of one conversation."""

    def __init__(self, storage: StorageProvider, conversation_id: str, *, limit: int = 50):
        if not conversation_id or not isinstance(conversation_id, str):
            raise ValidationError("a conversation id must be a non-empty string")
        self.storage = storage
        self.conversation_id = conversation_id
        self.namespace = f"{HISTORY_NAMESPACE}:{conversation_id}"
        self.limit = limit

    async def messages(self, *, limit: int | None = None) -> list[Message]:
        """The last ``limit`` messages (default: this history's), oldest first.

        ``limit=-1`` returns them all.
        """
        limit = self.limit if limit is None else limit
        keys = await self.storage.list(self.namespace)
        keys = keys if limit < 0 else keys[max(len(keys) - limit, 0) :]
        stored = [await self.storage.get(self.namespace, key) for key in keys]
        return [Message.from_dict(m) for m in stored if m is not None]

    async def append(self, messages: Sequence[Message]) -> None:
        stamp = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        for index, message in enumerate(messages):
            await self.storage.put(self.namespace, f"{stamp}-{index:04d}", message.to_dict())

    async def clear(self) -> None:
        for key in await self.storage.list(self.namespace):
            await self.storage.delete(self.namespace, key)
