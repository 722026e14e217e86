"""The time bounds on reading a stream's body, kept by one timer that re-arms only when due.

`Timeout.read` bounds each wait for a chunk, `Timeout.between_events` the time since
the last content event, `Timeout.stream` the stream as a whole. Each counts only while
the reader waits for the server (as httpx's read timeout does): a reader busy with an
event loses none of the events buffered meanwhile.

aiohttp's own read timeout (`sock_read`) re-arms a timer on every chunk, and a timer is
a push on the event loop's heap (in Python, `TimerHandle.__lt__` per step): the largest
cost of a paced stream's event after its decoding. Here a wait only notes when it began;
the one timer, when it fires, checks the bounds against that and re-arms itself at the
nearest one. The bounds only ever move later, so the timer never fires late. That timer
is an entry in the client's `Deadlines` (its one timer for every bound), not a timer of
its own on the event loop: an open stream holds one object for it instead of four (the
handle, its arguments, its context and a weak reference), which a thousand open streams
make the cycle collector walk.
"""

from __future__ import annotations

import asyncio
import functools
import math
import weakref
from collections.abc import Awaitable, Callable

import aiohttp

from .._config import Timeout
from .._deadlines import Deadlines

__all__ = ["BodyBounds"]


class BodyBounds:
    """The bounds of one stream; the `reader()` it gives reads its body under them."""

    __slots__ = (
        "__weakref__",
        "_between",
        "_check_weakly",
        "_deadlines",
        "_ends_at",
        "_entry",
        "_expired",
        "_loop",
        "_next_event_by",
        "_read",
        "_read_chunk",
        "_reader",
        "_timeout",
        "_waiting_since",
    )

    def __init__(self, timeout: Timeout, deadlines: Deadlines) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._deadlines = deadlines
        self._expired: Callable[[str, str], BaseException] | None = None
        self._read = math.inf if timeout.read is None else timeout.read
        self._between = timeout.between_events
        # the stream's bound counts from its start (the response head included)
        self._ends_at = math.inf if timeout.stream is None else self._loop.time() + timeout.stream
        self._next_event_by = math.inf
        self._waiting_since: float | None = None
        self._entry: int | None = None  # the timer's entry in `deadlines`, while armed
        self._check_weakly: Callable[[], None] | None = None
        self._reader: aiohttp.StreamReader | None = None
        self._read_chunk: Callable[[], Awaitable[bytes]] | None = None

    @property
    def active(self) -> bool:
        """Whether any bound is set (without one, the body is read as aiohttp gives it)."""
        return self._read != math.inf or self._between is not None or self._ends_at != math.inf

    def content(self) -> None:
        """A content event arrived: the `between_events` bound starts again."""
        if self._between is not None:
            self._next_event_by = self._loop.time() + self._between

    def reader(
        self,
        content: aiohttp.StreamReader,
        size: int | None,
        expired: Callable[[str, str], BaseException],
    ) -> Callable[[], Awaitable[bytes]]:
        """`read`, each call the body's next chunk as it arrives (at most `size` bytes, if
        given; empty at the end) until `stop()`; a wait that runs out raises
        `expired(why, phase)` (the stream's `StreamTimeoutError`). A coroutine per
        chunk, not an async generator: a generator would be one more object an open
        stream holds, and one more weak reference the event loop keeps of it."""
        self._read_chunk = (
            content.readany if size is None else functools.partial(content.read, size)
        )
        # held only while reading: the stream holds these bounds, and a reference back
        # to it would leave every finished stream for the cycle collector
        self._reader, self._expired = content, expired
        return self.read

    async def read(self) -> bytes:
        self._waiting_since = since = self._loop.time()
        if self._entry is None:
            self._arm(self._deadline(since))
        assert self._read_chunk is not None, "read() after stop()"
        chunk = await self._read_chunk()
        self._waiting_since = None
        return chunk

    def stop(self) -> None:
        """The body's reading ended: the bounds let go of the reader, and their timer."""
        self._waiting_since = None
        self._reader = self._expired = self._read_chunk = None
        if self._entry is not None:
            self._deadlines.discard(self._entry)
            self._entry = None

    def _deadline(self, since: float) -> float:
        return min(self._ends_at, self._next_event_by, since + self._read)

    def _arm(self, deadline: float) -> None:
        if deadline != math.inf:  # (weakly: a stream its reader abandoned is not kept)
            if self._check_weakly is None:
                self._check_weakly = functools.partial(_check, weakref.ref(self))
            self._entry = self._deadlines.add(deadline, self._check_weakly)

    def _check(self) -> None:
        """The timer fired: fail the wait that ran out, or re-arm at the nearest bound."""
        self._entry = None
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
