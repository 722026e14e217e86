"""One timer for all of a client's deadlines.

A call's `total`, an attempt's wait for its response head, a blocking body's wait
for its next chunk and a stream's body (`BodyBounds`) each need a bound, and most end
long before it. A timer each would put one handle per bound on the event loop's heap,
which compares `TimerHandle`s in Python, and aiohttp's read timer, re-armed on every
chunk, two per blocking call: together more than the rest of a short call's
bookkeeping. Here a bound is an entry in a heap of `(deadline, number)` pairs, compared
in C, kept by one timer armed at the earliest; a bound that ends first is only
forgotten, and its entry is dropped when the timer reaches it or when the heap is mostly
such entries.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import weakref
from collections.abc import Callable
from typing import Protocol

from ._timers import call_at

__all__ = ["Deadlines", "Expiring"]


class Expiring(Protocol):
    """What `Deadlines.add_weakly` bounds: told when its deadline has come."""

    def on_deadline(self) -> None: ...


class Deadlines:
    """The bounds still running on one client; `add` one, `discard` it when it ends."""

    __slots__ = ("__weakref__", "_armed_at", "_handle", "_heap", "_live", "_numbers")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []  # (deadline, number), compared in C
        # the bounds still running: a callback, or a weak reference to an `Expiring`
        self._live: dict[int, Callable[[], object]] = {}
        self._numbers = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def add(self, deadline: float, expire: Callable[[], object]) -> int:
        """Call `expire()` at `deadline` (on the loop's clock) unless `discard`ed first."""
        number = next(self._numbers)
        heap, live = self._heap, self._live
        live[number] = expire
        heapq.heappush(heap, (deadline, number))
        if len(heap) > 2 * len(live) + 64:  # mostly bounds that ended: drop them
            heap[:] = [entry for entry in heap if entry[1] in live]
            heapq.heapify(heap)
        if deadline < self._armed_at:
            self._arm(deadline)
        return number

    def add_weakly(self, deadline: float, owner: Expiring) -> int:
        """`add` for a bound the timer must not keep alive: `owner.on_deadline()` at
        `deadline`, unless discarded or gone. Held as a weak reference, the one CPython
        keeps for `owner` anyway, not a callback holding one: an open stream's bounds
        hold two objects fewer."""
        return self.add(deadline, weakref.ref(owner))

    def discard(self, number: int) -> None:
        self._live.pop(number, None)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_at = math.inf

    def _arm(self, at: float) -> None:
        self.stop()
        self._armed_at = at
        self._handle = call_at(asyncio.get_running_loop(), at, _fire, weakref.ref(self))

    def _fire(self) -> None:
        self._handle = None
        self._armed_at = math.inf
        now = asyncio.get_running_loop().time()
        heap, live = self._heap, self._live
        while heap and (heap[0][0] <= now or heap[0][1] not in live):
            expire = live.pop(heapq.heappop(heap)[1], None)
            if type(expire) is weakref.ReferenceType:  # (`add_weakly`)
                owner = expire()
                if owner is not None:
                    owner.on_deadline()
            elif expire is not None:
                expire()
        if heap:
            self._arm(heap[0][0])


def _fire(deadlines: weakref.ref[Deadlines]) -> None:
    alive = deadlines()
    if alive is not None:
        alive._fire()
