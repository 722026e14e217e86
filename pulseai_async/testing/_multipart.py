"""Reading multipart uploads in the emulator, with the platform's error answers."""

from __future__ import annotations

from typing import Literal, overload

import msgspec
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ._refusal import Refusal

__all__ = ["ReceivedFile", "check_size", "read_upload"]


class ReceivedFile(msgspec.Struct, kw_only=True):
    filename: str
    content_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""


@overload
async def read_upload(
    request: web.Request,
    *,
    file_field: str = "file",
    no_file_code: str = "no_file_uploaded",
    file_required: Literal[True] = True,
) -> tuple[dict[str, str], ReceivedFile]: ...


@overload
async def read_upload(
    request: web.Request,
    *,
    file_field: str = "file",
    no_file_code: str = "no_file_uploaded",
    file_required: bool,
) -> tuple[dict[str, str], ReceivedFile | None]: ...


async def read_upload(
    request: web.Request,
    *,
    file_field: str = "file",
    no_file_code: str = "no_file_uploaded",
    file_required: bool = True,
) -> tuple[dict[str, str], ReceivedFile | None]:
    """The form's plain fields and its one file; anything else is the documented 400
    (a form that cannot be parsed counts as one without a file, as on Dify 1.9.1)."""
    if not request.content_type.startswith("multipart/"):
        if file_required:
            raise Refusal(400, no_file_code, "Please upload your file.")
        fields = {}
        if request.content_type == "application/x-www-form-urlencoded":  # fields, no file
            fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        return fields, None
    try:
        fields, files = await _parts(request, file_field)
    except (ValueError, LookupError, AssertionError, HttpProcessingError):
        # no boundary, a control byte in a part header, a body cut short, ...
        fields, files = {}, []
    if not files:
        if file_required:
            raise Refusal(400, no_file_code, "Please upload your file.")
        return fields, None
    if len(files) > 1:
        raise Refusal(400, "too_many_files", "Only one file is allowed.")
    if not files[0].filename.strip():
        raise Refusal(400, "filename_not_exists_error", "The specified filename does not exist.")
    return fields, files[0]


async def _parts(
    request: web.Request, file_field: str
) -> tuple[dict[str, str], list[ReceivedFile]]:
    fields: dict[str, str] = {}
    files: list[ReceivedFile] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is None:
            fields[part.name or ""] = (await part.read()).decode("utf-8", "replace")
            continue
        data = bytearray()
        while chunk := await part.read_chunk(256 * 1024):
            data.extend(chunk)
        if part.name == file_field:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files.append(
                ReceivedFile(filename=part.filename, content_type=content_type, data=bytes(data))
            )
    return fields, files


def check_size(file: ReceivedFile, limit: int, code: str, what: str) -> None:
    """The app API's 413 for a file over `limit` bytes."""
    if len(file.data) > limit:
        raise Refusal(413, code, f"{what} size exceeded. {len(file.data)} > {limit} bytes")
