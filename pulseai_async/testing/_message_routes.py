"""Emulated history messages (paged by `first_id`), feedback and suggested questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._chat_routes import read_json, user_of
from ._state import StoredMessage
from ._wire import error_response, json_response

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["limit_arg", "setup"]

RATINGS = ("like", "dislike", None)


def limit_arg(request: web.Request, default: int = 20) -> int | web.Response:
    """`limit` from the query string, 1..100, or the platform's 400."""
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return error_response(400, "invalid_param", "limit must be between 1 and 100.")
    return limit


def public_message(emulator: Emulator, message: StoredMessage) -> dict[str, Any]:
    files = []
    for item in message.files:
        file_id = item.get("upload_file_id") or ""
        stored = emulator.state.files.get(file_id)
        files.append(
            {
                "id": file_id or item.get("url", ""),
                "type": item.get("type"),
                "url": item.get("url") or f"{emulator.base_url}/files/{file_id}/preview",
                "belongs_to": "user",
                "filename": stored.name if stored else None,
                "mime_type": stored.mime_type if stored else None,
                "size": stored.size if stored else None,
                "transfer_method": item.get("transfer_method"),
                "upload_file_id": file_id or None,
            }
        )
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_message_id": None,
        "inputs": message.inputs,
        "query": message.query,
        "answer": message.answer,
        "message_files": files,
        "feedback": {"rating": message.feedback} if message.feedback else None,
        "retriever_resources": [],
        "agent_thoughts": [],
        "created_at": message.created_at,
        "status": message.status,
        "error": None,
    }


def suggestions_for(message: StoredMessage) -> list[str]:
    """Three follow-up questions, always the same for the same message."""
    topic = " ".join(message.query.split()[:6]).rstrip("?.!") or "this"
    return [
        f'Can you say more about "{topic}"?',
        "Can you give me an example?",
        "What should I ask next?",
    ]


def setup(app: web.Application, emulator: Emulator) -> None:
    state = emulator.state

    def message_of(request: web.Request, user: str) -> StoredMessage | web.Response:
        message = state.messages.get(request.match_info["message_id"])
        conversation = state.conversation(message.conversation_id, user) if message else None
        if message is None or conversation is None:
            return error_response(404, "not_found", "Message Not Exists.")
        return message

    async def history(request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        conversation_id = request.query.get("conversation_id", "")
        if not conversation_id:
            return error_response(400, "invalid_param", "conversation_id is required.")
        limit = limit_arg(request)
        if isinstance(limit, web.Response):
            return limit
        conversation = state.conversation(conversation_id, user)
        if conversation is None:
            return error_response(404, "not_found", "Conversation Not Exists.")
        messages = conversation.messages
        end = len(messages)
        first_id = request.query.get("first_id")
        if first_id:
            ids = [m.id for m in messages]
            if first_id not in ids:
                return error_response(404, "not_found", "First Message Not Exists.")
            end = ids.index(first_id)
        # Like the server: fetch limit+1 rows newest first, has_more if the extra one exists.
        rows = messages[max(0, end - limit - 1) : end][::-1]
        has_more = len(rows) > limit
        page = rows[:limit][::-1]
        return json_response(
            {
                "limit": limit,
                "has_more": has_more,
                "data": [public_message(emulator, m) for m in page],
            },
            emulator.json_style,
        )

    async def feedback(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        user = user_of(body)
        if isinstance(user, web.Response):
            return user
        rating = body.get("rating")
        if rating not in RATINGS:
            return error_response(400, "invalid_param", "rating must be like, dislike or null.")
        message = message_of(request, user)
        if isinstance(message, web.Response):
            return message
        if rating is None and message.feedback is None:
            return error_response(
                400, "message_feedback_rating_required", "Rating is required to revoke feedback."
            )
        message.feedback = rating
        message.feedback_content = body.get("content") if rating is not None else None
        return json_response({"result": "success"}, emulator.json_style)

    async def suggested(request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        if not user.strip():
            return error_response(400, "invalid_param", "Arg user must be provided.")
        message = message_of(request, user)
        if isinstance(message, web.Response):
            return message
        if not emulator.suggested_questions_after_answer:
            return error_response(400, "bad_request", "Suggested Questions Is Disabled.")
        return json_response(
            {"result": "success", "data": suggestions_for(message)}, emulator.json_style
        )

    app.router.add_get("/v1/messages", history)
    app.router.add_post("/v1/messages/{message_id}/feedbacks", feedback)
    app.router.add_get("/v1/messages/{message_id}/suggested", suggested)
