"""Reading a response body under a size bound, counted after decompression, and a
time bound on each wait for its next chunk.

Every body the SDK reads whole comes through here: a success body under the caller's
`max_response_size` (over it is a `ResponseTooLargeError`), an error body or the start
of an unexpected one under a small fixed bound (kept truncated). What was not read
stays unread: `release()` then closes the connection instead of pooling it.

`Timeout.read` bounds each wait for a chunk that has not arrived yet, as an entry in
the client's `Deadlines` that, when due, fails the wait the way aiohttp's read timer
does. Most bodies arrive with their head, and their reading waits for nothing.
"""

from __future__ import annotations

import asyncio
import functools

import aiohttp

from ._deadlines import Deadlines
from ._errors import ResponseTooLargeError

__all__ = ["ERROR_BODY_LIMIT", "arrived_body", "read_at_most", "read_body"]

ERROR_BODY_LIMIT = 64 * 1024
"""How much of an error status's body is read (and kept) at most."""


async def read_at_most(
    response: aiohttp.ClientResponse, limit: int, deadlines: Deadlines, read: float | None
) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether that is the whole of it."""
    parts, complete = await _read_parts(response, limit, deadlines, read)
    return b"".join(parts)[:limit], complete


async def _read_parts(
    response: aiohttp.ClientResponse, limit: int, deadlines: Deadlines, read: float | None
) -> tuple[list[bytes], bool]:
    """The body's chunks as they came, stopping once they hold more than `limit` bytes;
    each wait for one that has not arrived is bounded by `read` seconds."""
    content = response.content
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = content.read_nowait()  # what has arrived (it raises a failure set on it)
        if not chunk:
            if content.at_eof():
                return parts, True
            if read is None:
                chunk = await content.readany()
            else:
                bound = deadlines.add(
                    asyncio.get_running_loop().time() + read,
                    functools.partial(_silence_ran_out, content, read),
                )
                try:
                    chunk = await content.readany()
                finally:
                    deadlines.discard(bound)
            if not chunk:
                return parts, True
        parts.append(chunk)
        size += len(chunk)
    return parts, False


def _silence_ran_out(content: aiohttp.StreamReader, read: float) -> None:
    # the waiting read raises it, as with aiohttp's own read timer
    error = aiohttp.SocketTimeoutError(f"no data within the read timeout of {read} s")
    content.set_exception(error)


def arrived_body(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body if all of it has arrived already and is within `limit`, as most
    short answers are (read without a coroutine or a wait); else None, with nothing
    read, for `read_body`."""
    content = response.content
    if not content.is_eof() or content.total_bytes > limit:  # (counted decompressed)
        return None
    return content.read_nowait()  # (it raises a failure set on the stream)


async def read_body(
    response: aiohttp.ClientResponse,
    limit: int,
    what: str,
    deadlines: Deadlines,
    read: float | None,
) -> bytes:
    """The whole body, or `ResponseTooLargeError` once it is known to exceed `limit`:
    at once from `Content-Length` (of an uncompressed body), else when the bytes
    decompressed so far pass it."""
    length = response.content_length
    compressed = response.headers.get("Content-Encoding", "identity") not in ("identity", "")
    if length is not None and length > limit and not compressed:
        raise _too_large(what, response.status, limit, f" (its Content-Length is {length})")
    parts, complete = await _read_parts(response, limit, deadlines, read)
    if not complete:  # (the bytes read so far are dropped, not joined)
        raise _too_large(what, response.status, limit, "")
    return b"".join(parts)


def _too_large(what: str, status: int, limit: int, detail: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{what}: the {status} response is larger than max_response_size "
        f"({limit} bytes){detail}; the connection was closed",
        limit=limit,
        status=status,
    )
