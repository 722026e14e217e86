"""`pulse.conversations`: a user's conversations."""

from __future__ import annotations

from typing import Unpack

from ._options import RequestOptions
from ._resource import Resource
from ._validation import check_text, check_uuid

__all__ = ["Conversations"]


class Conversations(Resource):
    """Get Conversations, Delete Conversation, Conversation Rename."""

    async def delete(
        self, conversation_id: str, *, user: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Delete a conversation. Accepts both the old `200 {"result": "success"}` and the
        newer `204 No Content` answers; a second delete raises `ConversationNotFoundError`."""
        path = f"/conversations/{check_uuid('conversation_id', conversation_id)}"
        await self._client._call(
            "DELETE", path, None, json={"user": check_text("user", user)}, options=options
        )
