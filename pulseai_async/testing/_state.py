"""The emulator's in-memory data: conversations, their messages, running tasks."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import msgspec

__all__ = ["Conversation", "State", "StoredFile", "StoredMessage", "Task"]


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> int:
    return int(time.time())


class StoredMessage(msgspec.Struct, kw_only=True):
    id: str
    conversation_id: str
    query: str
    answer: str
    inputs: dict[str, Any]
    created_at: int
    files: list[dict[str, Any]] = msgspec.field(default_factory=list)
    feedback: str | None = None
    feedback_content: str | None = None
    status: str = "normal"


class Conversation(msgspec.Struct, kw_only=True):
    id: str
    user: str
    name: str
    inputs: dict[str, Any]
    created_at: int
    updated_at: int
    introduction: str = ""
    status: str = "normal"
    messages: list[StoredMessage] = msgspec.field(default_factory=list)
    created_seq: int = 0
    updated_seq: int = 0
    """Tie-breakers for timestamps within one second: the order things happened in."""

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "inputs": self.inputs,
            "status": self.status,
            "introduction": self.introduction,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class StoredFile(msgspec.Struct, kw_only=True):
    """An uploaded file, with the exact bytes the emulator received."""

    id: str
    name: str
    size: int
    extension: str
    mime_type: str
    user: str
    created_by: str
    created_at: int
    data: bytes

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "extension": self.extension,
            "mime_type": self.mime_type,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


class Task:
    """A streamed generation: Stop Generate sets `stopped`; `finished` once it ran to the end."""

    def __init__(self, task_id: str, user: str) -> None:
        self.id = task_id
        self.user = user
        self.stopped = asyncio.Event()
        self.finished = False


class State:
    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, StoredMessage] = {}
        self.tasks: dict[str, Task] = {}
        self.files: dict[str, StoredFile] = {}
        self._seq = itertools.count(1)

    def tick(self) -> int:
        """The next value of a counter that orders events within one second."""
        return next(self._seq)

    def conversations_of(self, user: str) -> list[Conversation]:
        return [c for c in self.conversations.values() if c.user == user]

    def conversation(self, conversation_id: str, user: str) -> Conversation | None:
        conversation = self.conversations.get(conversation_id)
        if conversation is None or conversation.user != user:
            return None
        return conversation

    def start_conversation(self, user: str, query: str, inputs: dict[str, Any]) -> Conversation:
        stamp = now()
        conversation = Conversation(
            id=new_id(),
            user=user,
            name=query.strip()[:20] or "New conversation",
            inputs=inputs,
            created_at=stamp,
            updated_at=stamp,
        )
        conversation.created_seq = conversation.updated_seq = self.tick()
        self.conversations[conversation.id] = conversation
        return conversation

    def add_message(self, conversation: Conversation, message: StoredMessage) -> None:
        conversation.messages.append(message)
        conversation.updated_at = message.created_at
        conversation.updated_seq = self.tick()
        self.messages[message.id] = message

    def delete_conversation(self, conversation_id: str) -> None:
        conversation = self.conversations.pop(conversation_id)
        for message in conversation.messages:
            self.messages.pop(message.id, None)
