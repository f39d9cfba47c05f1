"""Conversation history kept in the configured storage provider.

One JSON document per conversation, under the namespace ``pepperpy:history``: a list
of message dicts. Messages are appended in one ``put`` per exchange, so a crash never
leaves half an exchange behind.
"""

from __future__ import annotations

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
        self.limit = limit

    async def messages(self) -> list[Message]:
        """The last ``limit`` messages, oldest first."""
        stored = await self.storage.get(HISTORY_NAMESPACE, self.conversation_id) or []
        return [Message.from_dict(m) for m in stored[-self.limit :]]

    async def append(self, messages: Sequence[Message]) -> None:
        stored = await self.storage.get(HISTORY_NAMESPACE, self.conversation_id) or []
        stored.extend(m.to_dict() for m in messages)
        await self.storage.put(HISTORY_NAMESPACE, self.conversation_id, stored)

    async def clear(self) -> None:
        await self.storage.delete(HISTORY_NAMESPACE, self.conversation_id)
