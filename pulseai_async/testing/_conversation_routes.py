"""Emulated conversation endpoints: list (paged by `last_id`), rename, delete, variables."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._refusal import Refusal
from ._routes import NOT_FOUND, UUID, deleted, int_arg, json_and_user, keyset_page, ok
from ._state import Conversation, now

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["setup"]

SORT_BY = ("created_at", "-created_at", "updated_at", "-updated_at")


def _sort_key(field: str) -> Callable[[Conversation], tuple[int, int]]:
    """Timestamps have one-second resolution: the sequence number breaks ties."""
    if field == "created_at":
        return lambda c: (c.created_at, c.created_seq)
    return lambda c: (c.updated_at, c.updated_seq)


def setup(app: web.Application, emulator: EmulatorView) -> None:
    async def listing(request: web.Request) -> web.Response:
        limit = int_arg(request, "limit", 20, 100)
        sort_by = request.query.get("sort_by") or "-updated_at"
        if sort_by not in SORT_BY:
            raise Refusal(400, "invalid_param", f"sort_by must be one of {', '.join(SORT_BY)}.")
        ordered = sorted(
            emulator.state.conversations_of(request.query.get("user", "")),
            key=_sort_key(sort_by.lstrip("-")),
            reverse=sort_by.startswith("-"),
        )
        cursor = request.query.get("last_id")
        page, has_more = keyset_page(ordered, cursor, limit, "Last Conversation Not Exists.")
        return ok(
            emulator, {"limit": limit, "has_more": has_more, "data": [c.public() for c in page]}
        )

    async def conversation_of(request: web.Request) -> tuple[dict[str, Any], Conversation]:
        body, user = await json_and_user(request)
        conversation = emulator.state.conversation(request.match_info["conversation_id"], user)
        if conversation is None:
            raise Refusal(404, "not_found", "Conversation Not Exists.")
        return body, conversation

    async def rename(request: web.Request) -> web.Response:
        body, conversation = await conversation_of(request)
        name = body.get("name")
        if body.get("auto_generate"):
            first = conversation.messages[0].query if conversation.messages else ""
            name = " ".join(first.split()[:5])[:40] or "New conversation"
        elif not isinstance(name, str) or not name.strip():
            raise Refusal(400, "invalid_param", "name is required when auto_generate is false")
        conversation.name = str(name)
        conversation.updated_at = now()
        conversation.updated_seq = emulator.state.tick()
        return ok(emulator, conversation.public())

    async def delete(request: web.Request) -> web.Response:
        """As Dify 1.9.1: any UUID is deleted, whoever's it is, known or not (204)."""
        await json_and_user(request)
        conversation_id = request.match_info["conversation_id"]
        if not UUID.match(conversation_id):
            raise Refusal(404, "not_found", NOT_FOUND)  # the route takes only UUIDs
        if conversation_id in emulator.state.conversations:
            emulator.state.delete_conversation(conversation_id)
        return deleted(emulator)

    async def variables(request: web.Request) -> web.Response:
        """A chatflow's conversation variables: the emulated apps declare none."""
        user = request.query.get("user", "")
        if emulator.state.conversation(request.match_info["conversation_id"], user) is None:
            raise Refusal(404, "not_found", "Conversation Not Exists.")
        limit = int_arg(request, "limit", 20, 100)
        return ok(emulator, {"limit": limit, "has_more": False, "data": []})

    app.router.add_get("/v1/conversations", listing)
    app.router.add_get("/v1/conversations/{conversation_id}/variables", variables)
    app.router.add_post("/v1/conversations/{conversation_id}/name", rename)
    app.router.add_delete("/v1/conversations/{conversation_id}", delete)
