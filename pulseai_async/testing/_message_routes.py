"""Emulated history messages (paged by `first_id`), feedback and suggested questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._refusal import Refusal
from ._routes import int_arg, json_and_user, keyset_page, ok, success, user_of
from ._state import StoredMessage

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["setup"]

RATINGS = ("like", "dislike", None)


def public_message(emulator: EmulatorView, message: StoredMessage) -> dict[str, Any]:
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


def setup(app: web.Application, emulator: EmulatorView) -> None:
    def message_of(request: web.Request, user: str) -> StoredMessage:
        message = emulator.state.messages.get(request.match_info["message_id"])
        if message is None or emulator.state.conversation(message.conversation_id, user) is None:
            raise Refusal(404, "not_found", "Message Not Exists.")
        return message

    async def history(request: web.Request) -> web.Response:
        if "conversation_id" not in request.query:
            raise Refusal(400, "invalid_param", "conversation_id is required.")
        conversation_id = request.query["conversation_id"]
        limit = int_arg(request, "limit", 20, 100)
        if not conversation_id:  # Dify 1.9.1: an empty id is an empty page
            return ok(emulator, {"limit": limit, "has_more": False, "data": []})
        conversation = emulator.state.conversation(conversation_id, request.query.get("user", ""))
        if conversation is None:
            raise Refusal(404, "not_found", "Conversation Not Exists.")
        # Pages run backwards from `first_id`, newest first; each page reads oldest first.
        newest_first = conversation.messages[::-1]
        cursor = request.query.get("first_id")
        page, has_more = keyset_page(newest_first, cursor, limit, "First Message Not Exists.")
        data = [public_message(emulator, m) for m in reversed(page)]
        return ok(emulator, {"limit": limit, "has_more": has_more, "data": data})

    async def feedback(request: web.Request) -> web.Response:
        body, user = await json_and_user(request)
        rating = body.get("rating")
        if rating not in RATINGS:
            raise Refusal(400, "invalid_param", "rating must be like, dislike or null.")
        message = message_of(request, user)
        if rating is None and message.feedback is None:
            raise Refusal(
                400, "message_feedback_rating_required", "Rating is required to revoke feedback."
            )
        message.feedback = rating
        message.feedback_content = body.get("content") if rating is not None else None
        return success(emulator)

    async def suggested(request: web.Request) -> web.Response:
        message = message_of(request, user_of(dict(request.query)))
        if not emulator.suggested_questions_after_answer:
            raise Refusal(400, "bad_request", "Suggested Questions Is Disabled.")
        return ok(emulator, {"result": "success", "data": suggestions_for(message)})

    app.router.add_get("/v1/messages", history)
    app.router.add_post("/v1/messages/{message_id}/feedbacks", feedback)
    app.router.add_get("/v1/messages/{message_id}/suggested", suggested)
