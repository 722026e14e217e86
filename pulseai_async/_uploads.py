"""File inputs for multipart uploads: a path, bytes, or a sync or async file object.

`prepare_upload` checks the input before anything is sent (it exists, has a name the
server can take the type from, is not over a size limit) and returns an `Upload` whose
`form()` builds a fresh multipart body on each attempt, so a retried upload starts over.
A one-shot source (a pipe, a socket, an async stream without `seek`) is never sent
twice: once it has been read from, `resendable()` is False and the failure is raised
instead of a retry with a truncated body.
Paths are streamed from disk with anyio in 256 KiB chunks and never held in memory.
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
from collections.abc import AsyncIterator, Callable, Mapping
from typing import IO, Any, Protocol, runtime_checkable

import aiohttp
import anyio
from aiohttp.payload import AsyncIterablePayload, BytesIOPayload, Payload

from ._errors import PulseValidationError
from ._validation import check_header_text

__all__ = ["AsyncReadable", "FileInput", "Upload", "prepare_upload"]

CHUNK_SIZE = 256 * 1024


@runtime_checkable
class AsyncReadable(Protocol):
    """An async file object (anyio, aiofiles, ...): `await f.read(n)` returns bytes."""

    async def read(self, size: int = -1, /) -> bytes: ...


FileContent = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | AsyncReadable
FileInput = FileContent | tuple[str, FileContent] | tuple[str, FileContent, str]
"""A path; or content with a name: `("photo.png", data)`, optionally with a content type
as a third item. File objects with a `.name` (`open(...)`) need no tuple."""


class _SizedStream(AsyncIterablePayload):
    """A streamed part whose length is known, so the request gets a Content-Length."""

    def __init__(self, chunks: AsyncIterator[bytes], size: int | None, **kwargs: Any) -> None:
        super().__init__(chunks, **kwargs)
        self._size = size


class Upload:
    """One checked file, ready to be sent any number of times."""

    def __init__(
        self,
        filename: str,
        content_type: str,
        size: int | None,
        open_chunks: Callable[[], AsyncIterator[bytes]] | None = None,
        data: bytes | None = None,
        one_shot: bool = False,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self._open_chunks = open_chunks
        self._data = data
        self._one_shot = one_shot
        self._read_from = False

    def resendable(self) -> bool:
        return not (self._one_shot and self._read_from)

    def payload(self) -> Payload:
        if self._data is not None:
            # a file object: aiohttp warns (ResourceWarning) about raw bytes over 1 MiB
            return BytesIOPayload(io.BytesIO(self._data), content_type=self.content_type)
        return _SizedStream(self._chunks(), self.size, content_type=self.content_type)

    async def _chunks(self) -> AsyncIterator[bytes]:
        assert self._open_chunks is not None
        self._read_from = True
        async for chunk in self._open_chunks():
            yield chunk

    def form(
        self, field: str = "file", fields: Mapping[str, str] | None = None
    ) -> aiohttp.FormData:
        """A new multipart body: the plain `fields` first, then the file part."""
        form = aiohttp.FormData()
        for name, value in (fields or {}).items():
            form.add_field(name, value)
        form.add_field(field, self.payload(), filename=self.filename)
        return form

    def body(self, field: str, fields: Mapping[str, str]) -> UploadBody:
        """The request's body factory: a new form per attempt."""
        return UploadBody(self, field, fields)

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type!r}, size={self.size})"


class UploadBody:
    """Builds the multipart body of one upload call, afresh for each attempt."""

    __slots__ = ("_field", "_fields", "_upload")

    def __init__(self, upload: Upload, field: str, fields: Mapping[str, str]) -> None:
        self._upload = upload
        self._field = field
        self._fields = fields

    def __call__(self) -> aiohttp.FormData:
        return self._upload.form(self._field, self._fields)

    def resendable(self) -> bool:
        return self._upload.resendable()


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _read_at(path: str, offset: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(CHUNK_SIZE)


async def _path_chunks(path: anyio.Path) -> AsyncIterator[bytes]:
    # No file handle stays open between chunks: aiohttp abandons this iterator when the
    # server answers before the body is sent (a 503 mid-upload), and an open handle
    # would then leak until garbage collection.
    offset = 0
    while chunk := await anyio.to_thread.run_sync(_read_at, str(path), offset):
        offset += len(chunk)
        yield chunk


def _sync_chunks(handle: IO[bytes], start: int | None) -> Callable[[], AsyncIterator[bytes]]:
    """Chunks of a file object, from `start` on each use (None: a one-shot source,
    which `Upload.resendable()` keeps from a second use)."""

    async def chunks() -> AsyncIterator[bytes]:
        if start is not None:
            handle.seek(start)
        while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK_SIZE):
            yield chunk

    return chunks


def _async_chunks(handle: AsyncReadable) -> Callable[[], AsyncIterator[bytes]]:
    """Chunks of an async file object, rewound with its `seek` on a second use (one
    without `seek` is one-shot: `Upload.resendable()` keeps it from a second use)."""
    used = False

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal used
        if used:
            await handle.seek(0)  # type: ignore[attr-defined]
        used = True
        while chunk := await handle.read(CHUNK_SIZE):
            yield chunk

    return chunks


def _seekable_size(handle: IO[bytes]) -> tuple[int | None, int | None]:
    """(start position, remaining bytes) of a seekable file object, else (None, None)."""
    try:
        if not handle.seekable():
            return None, None
        start = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(start)
        return start, end - start
    except (AttributeError, OSError):
        return None, None


def _name_of(obj: object) -> str | None:
    name = getattr(obj, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else None


async def prepare_upload(
    file: FileInput, *, what: str = "file", max_size: int | None = None
) -> Upload:
    """Check a file input and make it sendable; raises `PulseValidationError` naming
    the problem (missing path, no file name, over `max_size`) before any request."""
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
    ):
        raise PulseValidationError(f"max_size must be a positive int (bytes), got {max_size!r}")
    filename: str | None = None
    content_type: str | None = None
    content: Any = file
    if isinstance(file, tuple):
        if len(file) not in (2, 3) or not isinstance(file[0], str) or not file[0]:
            raise PulseValidationError(
                f"{what} must be a path, a file object, or (filename, content[, content_type])"
            )
        filename, content = file[0], file[1]
        content_type = file[2] if len(file) == 3 else None

    if isinstance(content, str | os.PathLike):
        path = anyio.Path(os.fspath(content))
        if not await path.is_file():
            raise PulseValidationError(f"{what}: no such file {os.fspath(content)!r}")
        size = (await path.stat()).st_size
        filename = filename or path.name
        upload = Upload(
            filename,
            content_type or _guess_type(filename),
            size,
            open_chunks=lambda: _path_chunks(path),
        )
    elif isinstance(content, bytes | bytearray | memoryview):
        if filename is None:
            raise PulseValidationError(
                f"{what}: raw bytes need a file name for the server to know the type; "
                f'pass ("name.ext", data)'
            )
        data = bytes(content)
        upload = Upload(filename, content_type or _guess_type(filename), len(data), data=data)
    elif inspect.iscoroutinefunction(getattr(content, "read", None)):
        # not isinstance(AsyncReadable): a runtime Protocol also matches sync files
        filename = filename or _name_of(content)
        if filename is None:
            raise PulseValidationError(f'{what}: pass ("name.ext", stream) for a nameless stream')
        upload = Upload(
            filename,
            content_type or _guess_type(filename),
            None,
            open_chunks=_async_chunks(content),
            one_shot=not callable(getattr(content, "seek", None)),
        )
    elif hasattr(content, "read"):
        filename = filename or _name_of(content)
        if filename is None:
            raise PulseValidationError(f'{what}: pass ("name.ext", file) for a nameless file')
        start, remaining = _seekable_size(content)
        upload = Upload(
            filename,
            content_type or _guess_type(filename),
            remaining,
            open_chunks=_sync_chunks(content, start),
            one_shot=start is None,
        )
    else:
        raise PulseValidationError(
            f"{what} must be a path, bytes or a file object, got {type(content).__name__}"
        )
    check_header_text(f"{what} name", upload.filename)  # it goes into a part's header
    if content_type is not None:
        check_header_text(f"{what} content type", content_type)
    if max_size is not None and upload.size is not None and upload.size > max_size:
        raise PulseValidationError(
            f"{what} {upload.filename!r} is {upload.size} bytes, over the {max_size}-byte limit"
        )
    return upload
