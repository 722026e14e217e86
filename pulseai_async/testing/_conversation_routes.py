"""Emulated conversation endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ._chat_routes import read_json, user_of
from ._wire import error_response, json_response

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["setup"]


def setup(app: web.Application, emulator: Emulator) -> None:
    async def delete(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        user = user_of(body)
        if isinstance(user, web.Response):
            return user
        conversation_id = request.match_info["conversation_id"]
        if emulator.state.conversation(conversation_id, user) is None:
            return error_response(404, "not_found", "Conversation Not Exists.")
        emulator.state.delete_conversation(conversation_id)
        if emulator.delete_style == 204:
            return web.Response(status=204)
        return json_response({"result": "success"}, emulator.json_style)

    app.router.add_delete("/v1/conversations/{conversation_id}", delete)
