"""Emulated File Upload: stores the exact bytes received, with the documented errors."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from ._multipart import read_upload
from ._state import StoredFile, new_id, now
from ._wire import error_response, json_response

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["UPLOAD_EXTENSIONS", "end_user_id", "setup"]

# Images (what PulseAI's page lists), then the documents, audio and video newer servers take.
UPLOAD_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "webp", "gif", "svg"}
    | {"txt", "md", "markdown", "pdf", "html", "htm", "csv", "xlsx", "xls", "docx", "pptx"}
    | {"xml", "json", "epub", "eml", "msg"}
    | {"mp3", "m4a", "wav", "webm", "amr", "mpga"}
    | {"mp4", "mov", "mpeg"}
)


def end_user_id(user: str) -> str:
    """The platform's id for an end user (`created_by`): stable per `user` string."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pulseai-emulator:{user}"))


def setup(app: web.Application, emulator: Emulator) -> None:
    async def upload(request: web.Request) -> web.Response:
        received = await read_upload(request)
        if isinstance(received, web.Response):
            return received
        fields, file = received
        user = fields.get("user", "")
        if not user.strip():
            return error_response(400, "invalid_param", "Arg user must be provided.")
        if file.extension not in emulator.upload_extensions:
            return error_response(415, "unsupported_file_type", "File type not allowed.")
        if len(file.data) > emulator.upload_limit:
            return error_response(
                413,
                "file_too_large",
                f"File size exceeded. {len(file.data)} > {emulator.upload_limit} bytes",
            )
        stored = StoredFile(
            id=new_id(),
            name=file.filename,
            size=len(file.data),
            extension=file.extension,
            mime_type=file.content_type,
            user=user,
            created_by=end_user_id(user),
            created_at=now(),
            data=file.data,
        )
        emulator.state.files[stored.id] = stored
        return json_response(stored.public(), emulator.json_style, status=201)

    app.router.add_post("/v1/files/upload", upload)
