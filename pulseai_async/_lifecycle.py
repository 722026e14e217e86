"""What a client has in flight, so that `aclose()` ends it at once.

Every call runs in one anyio cancel scope; `aclose()` cancels the scopes of the calls
still running (a send, a retry wait, a body being read) and ends the streams still
open, whose readers wake with `ClientClosedError`. A client and its `with_options`
copies share one `Lifecycle`.

The call's `total` timeout gives its deadline. A stream's start runs under that
deadline in its scope; a blocking call hands each attempt the time left to aiohttp's
own total timer instead (which also bounds reading the body), saving a timer per call.
"""

from __future__ import annotations

import math
import weakref
from types import TracebackType
from typing import Protocol

import anyio

from ._errors import APITimeoutError, ClientClosedError, PulseError

__all__ = ["CallScope", "Lifecycle"]


class OpenStream(Protocol):
    def _close_by_client(self) -> None:
        """End the stream now: its reader raises `ClientClosedError`."""


class Lifecycle:
    """The open/closed state of a client, its running calls and its open streams."""

    def __init__(self) -> None:
        self.closed = False
        self._scopes: set[anyio.CancelScope] = set()
        # weak: a stream its reader abandoned without closing must not stay alive here
        self._streams: weakref.WeakSet[OpenStream] = weakref.WeakSet()

    def check_open(self, what: str) -> None:
        if self.closed:
            raise ClientClosedError(what)

    def call(self, what: str, total: float | None, *, stream: bool = False) -> CallScope:
        """`with lifecycle.call(what, total) as deadline:` runs one call."""
        self.check_open(what)
        return CallScope(self, what, total, stream)

    def add_stream(self, stream: OpenStream) -> None:
        self._streams.add(stream)

    def discard_stream(self, stream: OpenStream) -> None:
        self._streams.discard(stream)

    def close(self) -> None:
        """Refuse new calls, cancel the running ones, end the open streams."""
        self.closed = True
        for scope in self._scopes:
            scope.cancel()
        for stream in list(self._streams):
            stream._close_by_client()
        self._streams.clear()


class CallScope:
    """One call's cancel scope. Entering it gives the call's deadline (on anyio's clock;
    `math.inf` without a `total`); on exit a cancellation becomes `APITimeoutError`
    (phase "total") or, if the client was closed, `ClientClosedError`, and a failure
    caused by the close (a connection aiohttp dropped) becomes `ClientClosedError` too."""

    __slots__ = ("_deadline", "_lifecycle", "_scope", "_total", "_what")

    def __init__(self, lifecycle: Lifecycle, what: str, total: float | None, stream: bool) -> None:
        self._lifecycle = lifecycle
        self._what = what
        self._total = total
        self._deadline = math.inf if total is None else anyio.current_time() + total
        self._scope = anyio.CancelScope(deadline=self._deadline if stream else math.inf)

    def __enter__(self) -> float:
        self._scope.__enter__()
        self._lifecycle._scopes.add(self._scope)
        return self._deadline

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lifecycle._scopes.discard(self._scope)
        swallowed = self._scope.__exit__(exc_type, exc, tb)
        closed = self._lifecycle.closed
        if swallowed and self._scope.cancelled_caught:
            if closed:
                raise ClientClosedError(self._what) from None
            raise APITimeoutError(
                f"{self._what}: did not finish within the total timeout of {self._total} s",
                phase="total",
            ) from None
        if closed and isinstance(exc, PulseError) and not isinstance(exc, ClientClosedError):
            raise ClientClosedError(self._what) from None
