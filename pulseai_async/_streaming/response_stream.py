"""`ResponseStream`: what `ChatStream` and `TextToAudio` share.

A streamed response opened on first use (so retries apply only until it starts), read
once through one async generator, and released or closed whatever ends it. Closing it
from another task (`aclose()`, a chat stream's `cancel()`) ends that task's iteration
quietly, even while the response is still starting; closing the client ends it with
`ClientClosedError`. Its body is read through `_reading()`, under the `Timeout.read`,
`Timeout.between_events` and `Timeout.stream` bounds (`BodyBounds`). Once open, a
stream has its response's `status`, `headers` and `request_id`, read off the response
itself (a stream nobody hooks has a `Trace` that records nothing); when it ends (read
to the end, failed, closed early) it ends its call's `Trace`, once.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

import aiohttp
from multidict import CIMultiDict

from .._errors import ClientClosedError, StreamClosedError, StreamTimeoutError
from .._pipeline import StreamOpener
from .._transport import masked_headers, release, request_id_of
from .body_bounds import BodyBounds

if TYPE_CHECKING:
    from .._lifecycle import OpenStream

__all__ = ["ResponseStream"]

T = TypeVar("T")


class ResponseStream(Generic[T]):
    """Subclasses implement `_iterate()`, which starts with `await self._ensure_open()`,
    reads the body with `_reading()`, calls `_body_done()` in a `finally`, and ends
    quietly on a transport error once `_closed` is set (that error is the close itself)."""

    def __init__(self, open_response: StreamOpener) -> None:
        self._open_response = open_response
        self._response: aiohttp.ClientResponse | None = None
        self._iterator: AsyncGenerator[T, None] | None = None
        self._closed = False
        self._closed_by_client = False
        self._bounds: BodyBounds | None = None  # the body's time bounds, from the request on
        self._registration: weakref.ref[OpenStream] | None = None  # in the lifecycle
        self.request_id: str | None = None
        """The server's request id (from the response headers), once it has started."""
        self.status: int | None = None
        """The response's HTTP status, once the stream is open."""
        self._headers: CIMultiDict[str] | None = None  # masked on first use of `headers`

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
            elif self._closed_by_client:  # raised by `_end_quietly_or_raise()`
                trace.finish(self, error_type="ClientClosedError")
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
            opener = self._open_response
            self._bounds = BodyBounds(opener.timeout, opener.lifecycle.deadlines)
            self._registration = opener.lifecycle.add_stream(self)
            try:
                response = await opener()
            except BaseException as exc:
                opener.lifecycle.discard_stream(self._registration)
                opener.trace.finish(error=exc)
                raise
            if self._closed:  # closed by another task while the request was in flight
                response.close()
                opener.lifecycle.discard_stream(self._registration)
                if self._closed_by_client:
                    error = ClientClosedError(f"the {type(self).__name__}")
                    opener.trace.finish(self, error)
                    raise error
                self._ended()
                return None
            self._response = response
            self.request_id = request_id_of(response.headers)
            self.status = response.status
            self._content()
        return self._response

    @property
    def headers(self) -> CIMultiDict[str] | None:
        """The response's headers (case-insensitive, any API key masked), once open."""
        if self._headers is None and self._response is not None:
            self._headers = masked_headers(self._response.headers)
        return self._headers

    def _content(self) -> None:
        """A content event arrived: the `between_events` bound starts again."""
        if self._bounds is not None:
            self._bounds.content()

    _chunk_size: int | None = None
    """The largest chunk a read returns (None: whatever has arrived)."""

    def _reading(self, response: aiohttp.ClientResponse) -> BodyBounds:
        """The body's reader: each `await bounds.read()` is its next chunk as it arrives
        (empty at the end), followed by `bounds.waited()`, under the stream's bounds."""
        bounds = self._bounds
        assert bounds is not None, "set when the response was requested"
        bounds.reading(response.content, self._chunk_size, self)
        return bounds

    def _body_done(self, response: aiohttp.ClientResponse, error: BaseException | None) -> None:
        """The body's reading ended, however it ended (`_iterate()` calls it in its
        `finally`): the bounds stop, the connection goes back to the pool (or is
        closed), the stream leaves the lifecycle and its trace ends."""
        if self._bounds is not None:
            self._bounds.stop()
        release(response)
        self._open_response.lifecycle.discard_stream(self._registration)
        self._ended(error)

    def _timed_out(self, why: str, phase: str) -> StreamTimeoutError:
        """The error for a stream bound running out (subclasses add what arrived)."""
        return StreamTimeoutError(why, phase=phase)

    def _end_quietly_or_raise(self) -> None:
        """A transport error after `_closed` is the close itself: quiet after the
        stream's own `aclose()`/`cancel()`, `ClientClosedError` after the client's."""
        if self._closed_by_client:
            raise ClientClosedError(f"the {type(self).__name__}", partial_text=self._partial())

    def _partial(self) -> str | None:
        """What a reader had when the stream ended early (a chat stream's text)."""
        return None

    def _close_by_client(self) -> None:
        """Called by the client's `aclose()`: the reader wakes and raises
        `ClientClosedError`."""
        self._closed_by_client = self._closed_by_client or not self._closed
        self._closed = True
        if self._response is not None:
            self._response.close()

    async def aclose(self) -> None:
        """Free the connection (back to the pool if the body was read to its end) and
        end the iteration, here or in another task. Safe to call more than once."""
        self._closed = True
        self._open_response.lifecycle.discard_stream(self._registration)
        if self._response is not None:
            release(self._response)
        iterator = self._iterator  # (a finished one has no frame, and nothing to close)
        if iterator is not None and getattr(iterator, "ag_frame", None) is not None:
            with contextlib.suppress(RuntimeError):  # it is running in another task
                await iterator.aclose()
        self._ended()
