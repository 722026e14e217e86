"""`pulse.files`: File Upload, for images and documents to attach to chat messages."""

from __future__ import annotations

from typing import Unpack

from .._options import RequestOptions
from .._resource import Resource
from .._uploads import FileInput
from .._validation import check_text
from .models import UploadedFile

__all__ = ["Files"]


class Files(Resource):
    """File Upload (`POST /files/upload`)."""

    async def upload(
        self,
        file: FileInput,
        *,
        user: str,
        max_size: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> UploadedFile:
        """Upload one file for `user` and return it; pass the result in
        `chat.send(..., files=[uploaded])` (or `uploaded.as_chat_file()`).

        `file` is a path (streamed from disk, never read whole into memory), bytes with a
        name (`("photo.png", data)`), or a sync or async file object. The content type is
        guessed from the file name. `max_size` (bytes) rejects a larger file before
        sending. A retried upload re-sends the whole file. Server errors:
        `UnsupportedFileTypeError` (415), `FileTooLargeError` (413), `NoFileUploadedError`,
        `TooManyFilesError`, `FilenameNotExistsError` (400).
        """
        fields = {"user": check_text("user", user)}
        return await self._upload(
            "/files/upload", UploadedFile, file, fields, max_size=max_size, options=options
        )
