"""Reading multipart uploads in the emulator, with the platform's error answers."""

from __future__ import annotations

import msgspec
from aiohttp import BodyPartReader, web

from ._routes import Refusal

__all__ = ["ReceivedFile", "check_size", "read_upload"]


class ReceivedFile(msgspec.Struct, kw_only=True):
    filename: str
    content_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""


async def read_upload(
    request: web.Request, *, file_field: str = "file", no_file_code: str = "no_file_uploaded"
) -> tuple[dict[str, str], ReceivedFile]:
    """The form's plain fields and its one file; anything else is the documented 400."""
    if not request.content_type.startswith("multipart/"):
        raise Refusal(400, no_file_code, "Please upload your file.")
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
    if not files:
        raise Refusal(400, no_file_code, "Please upload your file.")
    if len(files) > 1:
        raise Refusal(400, "too_many_files", "Only one file is allowed.")
    if not files[0].filename.strip():
        raise Refusal(400, "filename_not_exists_error", "The specified filename does not exist.")
    return fields, files[0]


def check_size(file: ReceivedFile, limit: int, code: str, what: str) -> None:
    """The app API's 413 for a file over `limit` bytes."""
    if len(file.data) > limit:
        raise Refusal(413, code, f"{what} size exceeded. {len(file.data)} > {limit} bytes")
