"""`ResponseStream`: what `ChatStream` and `TextToAudio` share.

A streamed response opened on first use (so retries apply only until it starts), read
once through one async generator, and released or closed whatever ends it. Closing it
from another task (`aclose()`, a chat stream's `cancel()`) ends that task's iteration
quietly, even while the response is still starting. Once open, a stream has its
response's `status`, `headers` and `request_id`; when it ends (read to the end, failed,
closed early) it ends its call's `Trace`, once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

import aiohttp
from multidict import CIMultiDict

from ._errors import StreamClosedError
from ._hooks import Trace
from ._transport import release, request_id_of

__all__ = ["ResponseStream", "StreamOpener"]

T = TypeVar("T")


class StreamOpener:
    """How a stream starts: its retried request (`await opener()`) and the `Trace` of
    its call."""

    __slots__ = ("_open", "trace")

    def __init__(
        self, open_response: Callable[[], Awaitable[aiohttp.ClientResponse]], trace: Trace
    ) -> None:
        self._open = open_response
        self.trace = trace

    def __call__(self) -> Awaitable[aiohttp.ClientResponse]:
        return self._open()


class ResponseStream(Generic[T]):
    """Subclasses implement `_iterate()`, which starts with `await self._ensure_open()`,
    releases the response in a `finally`, and ends quietly on a transport error once
    `_closed` is set (that error is the close itself)."""

    def __init__(self, open_response: StreamOpener) -> None:
        self._open_response = open_response
        self._response: aiohttp.ClientResponse | None = None
        self._iterator: AsyncGenerator[T, None] | None = None
        self._closed = False
        self.request_id: str | None = None
        """The response's request id, once the stream is open."""
        self.status: int | None = None
        """The response's HTTP status, once the stream is open."""
        self.headers: CIMultiDict[str] | None = None
        """The response's headers (case-insensitive, any API key masked), once open."""

    def _complete(self) -> bool:
        """Whether the stream was read to its end (subclasses say what that means)."""
        return False

    def _ended(self, error: BaseException | None = None) -> None:
        """Ends the call's trace with what ended the stream (the first call counts):
        `_iterate()` calls it in its `finally` with `sys.exc_info()[1]`, `aclose()`
        without an error."""
        trace = self._open_response.trace
        if isinstance(error, GeneratorExit) or error is None:
            if self._complete():
                trace.finish(self)
            elif self._closed or isinstance(error, GeneratorExit):
                trace.finish(self, error_type="cancelled")
            else:  # the body ended before its terminal event
                trace.finish(self, error_type="StreamInterruptedError")
        else:
            trace.finish(self, error)

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
            raise StreamClosedError(type(self).__name__)
        if self._response is None:
            try:
                response = await self._open_response()
            except BaseException as exc:
                self._open_response.trace.finish(error=exc)
                raise
            if self._closed:  # closed by another task while the request was in flight
                response.close()
                self._ended()
                return None
            self._response = response
            self.request_id = request_id_of(response.headers)
            self.status = response.status
            self.headers = self._open_response.trace.headers()
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
        self._ended()
