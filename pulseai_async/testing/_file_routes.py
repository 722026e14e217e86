"""Emulated File Upload: stores the exact bytes received, with the documented errors."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from ._multipart import check_size, read_upload
from ._refusal import Refusal
from ._routes import ok, user_of
from ._state import StoredFile, new_id, now

if TYPE_CHECKING:
    from ._view import EmulatorView

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


def setup(app: web.Application, emulator: EmulatorView) -> None:
    async def upload(request: web.Request) -> web.Response:
        fields, file = await read_upload(request)
        user = user_of(fields)
        if file.extension not in emulator.upload_extensions:
            raise Refusal(415, "unsupported_file_type", "File type not allowed.")
        check_size(file, emulator.upload_limit, "file_too_large", "File")
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
        return ok(emulator, stored.public(), status=201)

    app.router.add_post("/v1/files/upload", upload)
