"""Emulated conversation endpoints: list (paged by `last_id`), rename, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._chat_routes import read_json, user_of
from ._message_routes import limit_arg
from ._state import Conversation, now
from ._wire import error_response, json_response

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["setup"]

SORT_BY = ("created_at", "-created_at", "updated_at", "-updated_at")


def _sort_key(field: str) -> Any:
    if field == "created_at":
        return lambda c: (c.created_at, c.created_seq)
    return lambda c: (c.updated_at, c.updated_seq)


def setup(app: web.Application, emulator: Emulator) -> None:
    state = emulator.state

    async def listing(request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        limit = limit_arg(request)
        if isinstance(limit, web.Response):
            return limit
        sort_by = request.query.get("sort_by") or "-updated_at"
        if sort_by not in SORT_BY:
            return error_response(
                400, "invalid_param", f"sort_by must be one of {', '.join(SORT_BY)}."
            )
        ordered = sorted(
            state.conversations_of(user),
            key=_sort_key(sort_by.lstrip("-")),
            reverse=sort_by.startswith("-"),
        )
        start = 0
        last_id = request.query.get("last_id")
        if last_id:
            ids = [c.id for c in ordered]
            if last_id not in ids:
                return error_response(404, "not_found", "Last Conversation Not Exists.")
            start = ids.index(last_id) + 1
        rows = ordered[start : start + limit + 1]
        return json_response(
            {
                "limit": limit,
                "has_more": len(rows) > limit,
                "data": [c.public() for c in rows[:limit]],
            },
            emulator.json_style,
        )

    def conversation_of(request: web.Request, user: str) -> Conversation | web.Response:
        conversation = state.conversation(request.match_info["conversation_id"], user)
        if conversation is None:
            return error_response(404, "not_found", "Conversation Not Exists.")
        return conversation

    async def rename(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        user = user_of(body)
        if isinstance(user, web.Response):
            return user
        conversation = conversation_of(request, user)
        if isinstance(conversation, web.Response):
            return conversation
        name = body.get("name")
        if body.get("auto_generate"):
            first = conversation.messages[0].query if conversation.messages else ""
            name = " ".join(first.split()[:5])[:40] or "New conversation"
        elif not isinstance(name, str) or not name.strip():
            return error_response(
                400, "invalid_param", "name is required when auto_generate is false"
            )
        conversation.name = str(name)
        conversation.updated_at = now()
        conversation.updated_seq = state.tick()
        return json_response(conversation.public(), emulator.json_style)

    async def delete(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        user = user_of(body)
        if isinstance(user, web.Response):
            return user
        conversation = conversation_of(request, user)
        if isinstance(conversation, web.Response):
            return conversation
        state.delete_conversation(conversation.id)
        if emulator.delete_style == 204:
            return web.Response(status=204)
        return json_response({"result": "success"}, emulator.json_style)

    app.router.add_get("/v1/conversations", listing)
    app.router.add_post("/v1/conversations/{conversation_id}/name", rename)
    app.router.add_delete("/v1/conversations/{conversation_id}", delete)
