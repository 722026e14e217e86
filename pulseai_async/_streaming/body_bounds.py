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
its own on the event loop: an open stream holds one object for it (a weak reference)
instead of four (the handle, its arguments, its context and a weak reference), which a
thousand open streams make the cycle collector walk.

The reader awaits aiohttp's own read, which `read()` hands it, and says `waited()` when
it has its chunk: no coroutine of ours between them, which every chunk would make and
every waiting stream would hold.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Protocol

import aiohttp

from .._config import Timeout
from .._deadlines import Deadlines

__all__ = ["BodyBounds", "TimesOut"]


class TimesOut(Protocol):
    """The stream whose body is read: it makes the error a wait that ran out raises."""

    def _timed_out(self, why: str, phase: str) -> BaseException: ...


class BodyBounds:
    """The bounds of one stream. After `reading()`, each chunk is `await bounds.read()`
    followed by `bounds.waited()`, until `stop()`."""

    __slots__ = (
        "__weakref__",
        "_between",
        "_deadlines",
        "_ends_at",
        "_entry",
        "_loop",
        "_next_event_by",
        "_read",
        "_reader",
        "_size",
        "_stream",
        "_timeout",
        "_waiting_since",
    )

    def __init__(self, timeout: Timeout, deadlines: Deadlines) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._deadlines = deadlines
        self._read = math.inf if timeout.read is None else timeout.read
        self._between = timeout.between_events
        # the stream's bound counts from its start (the response head included)
        self._ends_at = math.inf if timeout.stream is None else self._loop.time() + timeout.stream
        self._next_event_by = math.inf
        self._waiting_since: float | None = None
        self._entry: int | None = None  # the timer's entry in `deadlines`, while armed
        # held only while reading: the stream holds these bounds, and a reference back
        # to it would leave every finished stream for the cycle collector
        self._reader: aiohttp.StreamReader | None = None
        self._stream: TimesOut | None = None
        self._size: int | None = None

    def content(self) -> None:
        """A content event arrived: the `between_events` bound starts again."""
        if self._between is not None:
            self._next_event_by = self._loop.time() + self._between

    def reading(self, content: aiohttp.StreamReader, size: int | None, stream: TimesOut) -> None:
        """The body is read from `content`, at most `size` bytes a chunk (None: whatever
        has arrived); a wait that runs out raises `stream._timed_out(why, phase)` (the
        stream's `StreamTimeoutError`)."""
        self._reader, self._size, self._stream = content, size, stream

    def read(self) -> Awaitable[bytes]:
        """The body's next chunk (empty at the end), to await at once; its wait is
        bounded until `waited()`."""
        self._waiting_since = since = self._loop.time()
        if self._entry is None:
            self._arm(self._deadline(since))
        reader = self._reader
        assert reader is not None, "read() before reading() or after stop()"
        return reader.readany() if self._size is None else reader.read(self._size)

    def waited(self) -> None:
        """The chunk has come: the reader is busy with it, not waiting for the server."""
        self._waiting_since = None

    def stop(self) -> None:
        """The body's reading ended: the bounds let go of the reader, and their timer."""
        self._waiting_since = None
        self._reader = self._stream = None
        if self._entry is not None:
            self._deadlines.discard(self._entry)
            self._entry = None

    def _deadline(self, since: float) -> float:
        return min(self._ends_at, self._next_event_by, since + self._read)

    def _arm(self, deadline: float) -> None:
        if deadline != math.inf:  # (weakly: a stream its reader abandoned is not kept)
            self._entry = self._deadlines.add_weakly(deadline, self)

    def on_deadline(self) -> None:
        """The timer fired: fail the wait that ran out, or re-arm at the nearest bound."""
        self._entry = None
        since, reader, stream = self._waiting_since, self._reader, self._stream
        if since is None or reader is None or stream is None:
            return  # the reader is not waiting: its next wait arms the timer again
        deadline = self._deadline(since)
        if self._loop.time() < deadline:
            self._arm(deadline)
            return
        timeout = self._timeout
        if deadline == self._ends_at:
            error = stream._timed_out(
                f"the stream ran longer than its timeout of {timeout.stream} s", "stream"
            )
        elif deadline == self._next_event_by:
            error = stream._timed_out(
                f"no content event within {timeout.between_events} s (pings do not count)",
                "between_events",
            )
        else:
            error = stream._timed_out(
                f"no data within the read timeout of {timeout.read} s", "read"
            )
        reader.set_exception(error)  # the waiting read raises it (as aiohttp's own timer does)
