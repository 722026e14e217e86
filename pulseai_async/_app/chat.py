"""`pulse.chat`: send a message (blocking or streamed) and stop a generation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from .._options import RequestOptions
from .._resource import Resource
from .._streaming.answer import ChatMessage
from .._streaming.chat_stream import ChatStream
from .._validation import (
    check_bool,
    check_files,
    check_mapping,
    check_text,
    check_uuid,
    optional_uuid,
)

__all__ = ["Chat"]


class Chat(Resource):
    """Send Chat Message and Stop Generate."""

    def _body(
        self,
        query: str,
        user: str,
        mode: str,
        conversation_id: str | None,
        inputs: Mapping[str, Any] | None,
        files: Sequence[Any] | None,
        auto_generate_name: bool | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": check_text("query", query),
            "inputs": check_mapping("inputs", inputs),
            "response_mode": mode,
            "user": check_text("user", user),
            "conversation_id": optional_uuid("conversation_id", conversation_id) or "",
        }
        checked_files = check_files(files)
        if checked_files:
            body["files"] = checked_files
        if auto_generate_name is not None:
            body["auto_generate_name"] = check_bool("auto_generate_name", auto_generate_name)
        return body

    async def send(
        self,
        query: str,
        *,
        user: str,
        conversation_id: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        files: Sequence[Any] | None = None,
        auto_generate_name: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> ChatMessage:
        """Send a message and wait for the whole answer (`response_mode: blocking`).

        Leave `conversation_id` empty to start a conversation; the answer's
        `conversation_id` continues it. Agent apps only stream: use `stream()`.
        """
        body = self._body(
            query, user, "blocking", conversation_id, inputs, files, auto_generate_name
        )
        return await self._client._call(
            "POST", "/chat-messages", ChatMessage, json=body, options=options
        )

    def stream(
        self,
        query: str,
        *,
        user: str,
        conversation_id: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        files: Sequence[Any] | None = None,
        auto_generate_name: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> ChatStream:
        """Send a message and stream the answer (`response_mode: streaming`).

        Returns at once (input is checked now, the request is sent on first use):
        `async with pulse.chat.stream(...) as stream: async for event in stream: ...`.
        Retries apply only until the response starts; a stream is never replayed.
        """
        body = self._body(
            query, user, "streaming", conversation_id, inputs, files, auto_generate_name
        )
        open_response = self._client._stream_opener(
            "/chat-messages", body, "text/event-stream", options
        )
        return ChatStream(open_response, self, user)

    async def stop(self, task_id: str, *, user: str, **options: Unpack[RequestOptions]) -> None:
        """Ask the server to stop a streaming generation (best effort: the server always
        answers success, and ignores a `user` other than the one who started it)."""
        path = f"/chat-messages/{check_uuid('task_id', task_id)}/stop"
        await self._client._call(
            "POST", path, None, json={"user": check_text("user", user)}, options=options
        )
