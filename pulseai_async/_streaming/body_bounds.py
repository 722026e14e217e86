"""The time bounds on reading a stream's body, kept by one timer that re-arms only when due.

`Timeout.read` bounds each wait for a chunk, `Timeout.between_events` the time since
the last content event, `Timeout.stream` the stream as a whole. Each counts only while
the reader waits for the server (as httpx's read timeout does): a reader busy with an
event loses none of the events buffered meanwhile.

aiohttp's own read timeout (`sock_read`) re-arms a timer on every chunk, and a timer is
a push on the event loop's heap (in Python, `TimerHandle.__lt__` per step): the largest
cost of a paced stream's event after its decoding. Here a wait only notes when it began;
the one timer, when it fires, checks the bounds against that and re-arms itself at the
nearest one. The bounds only ever move later, so the timer never fires late.
"""

from __future__ import annotations

import asyncio
import functools
import math
import weakref
from collections.abc import AsyncIterator, Callable

import aiohttp

from .._config import Timeout
from .._timers import call_at

__all__ = ["BodyBounds"]


class BodyBounds:
    """The bounds of one stream; `chunks()` reads its body under them."""

    __slots__ = (
        "__weakref__",
        "_between",
        "_ends_at",
        "_expired",
        "_handle",
        "_loop",
        "_next_event_by",
        "_read",
        "_reader",
        "_timeout",
        "_waiting_since",
    )

    def __init__(self, timeout: Timeout) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._expired: Callable[[str, str], BaseException] | None = None
        self._read = math.inf if timeout.read is None else timeout.read
        self._between = timeout.between_events
        # the stream's bound counts from its start (the response head included)
        self._ends_at = math.inf if timeout.stream is None else self._loop.time() + timeout.stream
        self._next_event_by = math.inf
        self._waiting_since: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._reader: aiohttp.StreamReader | None = None

    @property
    def active(self) -> bool:
        """Whether any bound is set (without one, the body is read as aiohttp gives it)."""
        return self._read != math.inf or self._between is not None or self._ends_at != math.inf

    def content(self) -> None:
        """A content event arrived: the `between_events` bound starts again."""
        if self._between is not None:
            self._next_event_by = self._loop.time() + self._between

    async def chunks(
        self,
        content: aiohttp.StreamReader,
        size: int | None,
        expired: Callable[[str, str], BaseException],
    ) -> AsyncIterator[bytes]:
        """The body as it arrives (in chunks of at most `size` bytes, if given); a wait
        that runs out raises `expired(why, phase)` (the stream's `StreamTimeoutError`)."""
        read = content.readany if size is None else functools.partial(content.read, size)
        now = self._loop.time
        # held only while reading: the stream holds these bounds, and a reference back
        # to it would leave every finished stream for the cycle collector
        self._reader, self._expired = content, expired
        try:
            while True:
                self._waiting_since = now()
                if self._handle is None:
                    self._arm(self._deadline(self._waiting_since))
                chunk = await read()
                self._waiting_since = None
                if not chunk:
                    return
                yield chunk
        finally:
            self._waiting_since = None
            self._reader = self._expired = None
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None

    def _deadline(self, since: float) -> float:
        return min(self._ends_at, self._next_event_by, since + self._read)

    def _arm(self, deadline: float) -> None:
        if deadline != math.inf:  # (weakly: a stream its reader abandoned is not kept)
            self._handle = call_at(self._loop, deadline, _check, weakref.ref(self))

    def _check(self) -> None:
        """The timer fired: fail the wait that ran out, or re-arm at the nearest bound."""
        self._handle = None
        since, reader, expired = self._waiting_since, self._reader, self._expired
        if since is None or reader is None or expired is None:
            return  # the reader is not waiting: its next wait arms the timer again
        deadline = self._deadline(since)
        if self._loop.time() < deadline:
            self._arm(deadline)
            return
        timeout = self._timeout
        if deadline == self._ends_at:
            error = expired(
                f"the stream ran longer than its timeout of {timeout.stream} s", "stream"
            )
        elif deadline == self._next_event_by:
            error = expired(
                f"no content event within {timeout.between_events} s (pings do not count)",
                "between_events",
            )
        else:
            error = expired(f"no data within the read timeout of {timeout.read} s", "read")
        reader.set_exception(error)  # the waiting read raises it (as aiohttp's own timer does)


def _check(bounds: weakref.ref[BodyBounds]) -> None:
    alive = bounds()
    if alive is not None:
        alive._check()
