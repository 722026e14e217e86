"""What every route module shares: reading a request's input, and answering it in the
emulator's `json_style` (a refusal is `raise Refusal(...)`, from `_refusal`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec
from aiohttp import web

from ._refusal import Refusal
from ._wire import Encoding, json_response

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = [
    "BAD_REQUEST",
    "NOT_FOUND",
    "UUID",
    "deleted",
    "int_arg",
    "json_and_user",
    "keyset_page",
    "ok",
    "read_json",
    "success",
    "user_of",
]


def ok(
    emulator: EmulatorView, obj: Any, status: int = 200, encoding: Encoding = "body"
) -> web.Response:
    """A JSON answer in the emulator's current `json_style`."""
    return json_response(obj, emulator.json_style, status, encoding)


def success(emulator: EmulatorView) -> web.Response:
    return ok(emulator, {"result": "success"})


def deleted(emulator: EmulatorView, *, knowledge: bool = False) -> web.Response:
    """A delete's answer: 204 on new servers, 200 `{"result": "success"}` on old ones;
    in the "dify" style, 204 for a conversation and, for a knowledge base, document or
    chunk, what Dify 1.9.1's `return 204` gives through flask-restx: 200 with body `204`."""
    if emulator.delete_style == "dify" and knowledge:
        return ok(emulator, 204)
    return success(emulator) if emulator.delete_style == 200 else web.Response(status=204)


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again."
)
"""Werkzeug's 404 text, what Dify 1.9.1 answers for a path it has no route for."""
BAD_REQUEST = "The browser (or proxy) sent a request that this server could not understand."
"""Werkzeug's 400 text, what Dify 1.9.1 answers to a body that is not JSON."""


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON body as a dict; anything else is the platform's 400 (Dify 1.9.1 answers
    `bad_request` to a body that is not JSON, and a 500 to JSON that is no object)."""
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        raise Refusal(400, "bad_request", BAD_REQUEST) from None
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_param", "The JSON body must be an object.")
    return body


def user_of(fields: dict[str, Any]) -> str:
    """The required `user` of a body, form or query string."""
    user = fields.get("user")
    if not isinstance(user, str) or not user.strip():
        raise Refusal(400, "invalid_param", "Arg user must be provided.")
    return user


async def json_and_user(request: web.Request) -> tuple[dict[str, Any], str]:
    """The preamble of most app-API writes: a JSON object body naming its `user`."""
    body = await read_json(request)
    return body, user_of(body)


def int_arg(request: web.Request, name: str, default: int, high: int) -> int:
    """A query-string integer in 1..`high` (`default` when absent), or the 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refusal(400, "invalid_param", f"{name} must be an integer.") from None
    if not 1 <= value <= high:
        raise Refusal(400, "invalid_param", f"{name} must be between 1 and {high}.")
    return value


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def keyset_page(
    ordered: list[T], cursor: str | None, limit: int, missing: str
) -> tuple[list[T], bool]:
    """The `limit` items after the one with id `cursor` (from the start without one), and
    whether more follow; like the server, an unknown cursor is a 404 with `missing`."""
    start = 0
    if cursor:
        ids = [item.id for item in ordered]
        if cursor not in ids:
            raise Refusal(404, "not_found", missing)
        start = ids.index(cursor) + 1
    rows = ordered[start : start + limit + 1]  # one more than asked: has_more if it exists
    return rows[:limit], len(rows) > limit
