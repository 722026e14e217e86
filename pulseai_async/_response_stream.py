"""`ResponseStream`: what `ChatStream` and `TextToAudio` share.

A streamed response opened on first use (so retries apply only until it starts), read
once through one async generator, and released or closed whatever ends it. Closing it
from another task (`aclose()`, a chat stream's `cancel()`) ends that task's iteration
quietly, even while the response is still starting.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

import aiohttp

from ._transport import release, request_id_of

__all__ = ["ResponseStream"]

T = TypeVar("T")


class ResponseStream(Generic[T]):
    """Subclasses implement `_iterate()`, which starts with `await self._ensure_open()`,
    releases the response in a `finally`, and ends quietly on a transport error once
    `_closed` is set (that error is the close itself)."""

    def __init__(self, open_response: Callable[[], Awaitable[aiohttp.ClientResponse]]) -> None:
        self._open_response = open_response
        self._response: aiohttp.ClientResponse | None = None
        self._iterator: AsyncGenerator[T, None] | None = None
        self._closed = False
        self.request_id: str | None = None
        """The server's request id (from the response headers), once it has started."""

    def _iterate(self) -> AsyncGenerator[T, None]:
        raise NotImplementedError

    def __aiter__(self) -> AsyncGenerator[T, None]:
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    async def __anext__(self) -> T:
        return await self.__aiter__().__anext__()

    async def __aenter__(self) -> Self:
        await self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _ensure_open(self) -> aiohttp.ClientResponse | None:
        """The response, sent now if it was not; None if the stream was closed while
        its response was starting (the response is then closed at once)."""
        if self._closed and self._response is None:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        if self._response is None:
            response = await self._open_response()
            if self._closed:  # closed by another task while the request was in flight
                response.close()
                return None
            self._response = response
            self.request_id = request_id_of(response.headers)
        return self._response

    async def aclose(self) -> None:
        """Free the connection (back to the pool if the body was read to its end) and
        end the iteration, here or in another task. Safe to call more than once."""
        self._closed = True
        if self._response is not None:
            release(self._response)
        if self._iterator is not None:
            with contextlib.suppress(RuntimeError):  # it is running in another task
                await self._iterator.aclose()
