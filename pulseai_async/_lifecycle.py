"""What a client has in flight, so that `aclose()` ends it at once.

Every call runs in one anyio cancel scope; `aclose()` cancels the scopes of the calls
still running (a send, a retry wait, a body being read) and ends the streams still
open, whose readers wake with `ClientClosedError`. A client and its `with_options`
copies share one `Lifecycle`.

The call's `total` timeout is its deadline: it bounds the sends, the retry waits and
the body of a blocking call, and the start of a stream (whose body has the stream
bounds instead). When it passes, the call's scope is cancelled, by one timer for all of
a client's calls (`Deadlines`): a deadline on each scope would put a timer per call on
the event loop, whose heap of timers compares them in Python, and that cost more than
the rest of the scope (`_deadlines.py`). aiohttp's own total timer would cost more
still (it is re-entered on every read of the body).
"""

from __future__ import annotations

import asyncio
import math
import weakref
from types import TracebackType
from typing import Protocol

import anyio

from ._deadlines import Deadlines
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
        # (one ref a stream, made when it opens and handed back when it ends: a WeakSet
        # would make a new one for every discard)
        self._streams: set[weakref.ref[OpenStream]] = set()
        self._forget = self._streams.discard
        self.deadlines = Deadlines()

    def check_open(self, what: str) -> None:
        if self.closed:
            raise ClientClosedError(what)

    def call(self, what: str, total: float | None) -> CallScope:
        """`with lifecycle.call(what, total) as scope:` runs one call."""
        self.check_open(what)
        return CallScope(self, what, total)

    def add_stream(self, stream: OpenStream) -> weakref.ref[OpenStream]:
        """Count `stream` as open; give the ref returned to `discard_stream` when it ends."""
        ref = weakref.ref(stream, self._forget)
        self._streams.add(ref)
        return ref

    def discard_stream(self, ref: weakref.ref[OpenStream] | None) -> None:
        self._forget(ref)

    def close(self) -> None:
        """Refuse new calls, cancel the running ones, end the open streams."""
        self.closed = True
        self.deadlines.stop()
        for scope in self._scopes:
            scope.cancel()
        for ref in list(self._streams):
            stream = ref()
            if stream is not None:
                stream._close_by_client()
        self._streams.clear()


class CallScope:
    """One call's cancel scope; `with lifecycle.call(what, total) as scope:`.
    `scope.deadline` is the call's deadline (on anyio's clock; `math.inf` without a
    `total`). On exit a cancellation becomes `APITimeoutError` (phase "total"; stage
    "connect", saying nothing was sent, if it came while `waiting_for_gate`) or, if the
    client was closed, `ClientClosedError`, and a failure caused by the close (a
    connection aiohttp dropped) becomes `ClientClosedError` too."""

    __slots__ = (
        "_deadline_number",
        "_lifecycle",
        "_scope",
        "_total",
        "_what",
        "deadline",
        "waiting_for_gate",
    )

    def __init__(self, lifecycle: Lifecycle, what: str, total: float | None) -> None:
        self._lifecycle = lifecycle
        self._what = what
        self._total = total
        # the loop's clock, which is anyio's (`anyio.current_time()` finds the loop by
        # asking which library runs, twice: two system calls on Python 3.11)
        self.deadline = math.inf if total is None else asyncio.get_running_loop().time() + total
        self.waiting_for_gate = False
        self._scope = _new_cancel_scope()
        self._deadline_number: int | None = None

    def __enter__(self) -> CallScope:
        self._scope.__enter__()
        self._lifecycle._scopes.add(self._scope)
        if self._total is not None:
            self._deadline_number = self._lifecycle.deadlines.add(self.deadline, self._scope.cancel)
        return self

    def cause_of(self, error: BaseException) -> str:
        """What the call reports `error`, raised inside it, as: a cancellation is the
        client's close, or the deadline, when either is why it came."""
        if isinstance(error, anyio.get_cancelled_exc_class()):
            if self._lifecycle.closed:
                return "ClientClosedError"
            if asyncio.get_running_loop().time() >= self.deadline:
                return "APITimeoutError"
        return type(error).__name__

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lifecycle._scopes.discard(self._scope)
        if self._deadline_number is not None:
            self._lifecycle.deadlines.discard(self._deadline_number)
        swallowed = self._scope.__exit__(exc_type, exc, tb)
        closed = self._lifecycle.closed
        if swallowed and self._scope.cancelled_caught:
            if closed:
                raise ClientClosedError(self._what) from None
            if self.waiting_for_gate:  # nothing was sent: the time ran out at the gate
                raise APITimeoutError(
                    f"{self._what}: the total timeout of {self._total} s ran out waiting "
                    "for the rate-limit gate",
                    phase="total",
                    stage="connect",
                ) from None
            raise APITimeoutError(
                f"{self._what}: did not finish within the total timeout of {self._total} s",
                phase="total",
            ) from None
        if closed and isinstance(exc, PulseError) and not isinstance(exc, ClientClosedError):
            raise ClientClosedError(self._what) from None


_cancel_scope_class: type[anyio.CancelScope] | None = None


def _new_cancel_scope() -> anyio.CancelScope:
    """`anyio.CancelScope()`. Its constructor looks up the running backend every time
    (a system call on Python 3.11) to build that backend's subclass, whose own
    constructor takes the same arguments; aiohttp runs on asyncio only, so the class
    found the first time is the class every time."""
    global _cancel_scope_class
    if _cancel_scope_class is None:
        scope = anyio.CancelScope()
        _cancel_scope_class = type(scope)
        return scope
    return _cancel_scope_class()
