"""The rate-limit gate: once the server says "429, retry after T", the requests of that
API key and scope wait for T instead of being sent and refused, then go out paced.

Without it, 1,000 concurrent chats against a quota of 50 requests a second each retry
on their own: every Retry-After brings the whole herd back at once and the server
refuses all but 50 of them, second after second. With it, the first refusal closes the
gate until the time the server named; meanwhile the gate takes the rate the server
accepted in the last second (the answers that were not refused) as its pace, and from
then on admits one request per `1 / pace` seconds, each slot with a little jitter,
probing a few percent faster every second. Another refusal closes it again and resets
the pace to what was accepted; once demand falls below the pace, the gate opens fully.

`RateLimitGate` is the protocol (three coroutines) the client calls around every
attempt; `LocalRateLimitGate` is the in-process default, and `RedisRateLimitGate`
(`pulseai-async[redis]`) shares one gate between processes and machines.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import deque
from typing import Protocol, runtime_checkable

import anyio

from ._timers import call_at

__all__ = ["LocalRateLimitGate", "RateLimitGate", "gate_key"]

WINDOW = 1.0
"""Seconds of answers the pace is estimated from."""
GROWTH = 0.05
"""How much faster than the accepted rate the gate probes, per second of pacing."""
JITTER = 0.5
"""Each slot starts up to this fraction of one interval late, so processes do not align."""
SETTLE = 0.05
"""Seconds a request let in by the window waits for the rest of its burst's answers, and
how long the places an accepted answer adds wait before they open (answers come in the
order sent: a burst's refusals follow its accepted answers within moments, and reset
the window, so an overshooting burst does not grow it)."""
MIN_PACE = 1.0
"""Requests per second the gate allows at the least, even if nothing was accepted."""


def gate_key(api_key: str, scope: str) -> str:
    """The name a gate knows a quota by: the scope and a digest of the key (never the
    key itself: it ends up in Redis and in log records)."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    return f"{scope}:{digest}"


@runtime_checkable
class RateLimitGate(Protocol):
    """What the client calls around each attempt of each request.

    `key` names one quota (`gate_key(api_key, scope)`: the scope, `app` or `knowledge`,
    and a digest of the key). For every `acquire` that returns, the client calls
    `release` exactly once, when the attempt is over; `refused` reports a rate-limit
    refusal, over HTTP or in a stream. An implementation must not fail a request for
    reasons of its own: a gate that cannot decide lets the request through.

    A gate may also have `try_acquire(key) -> bool`, an `acquire` that does not wait
    (True: acquired; False: nothing done). The client tries it first and awaits
    `acquire`, bounded by the call's timeout, only when it says False, which spares
    the common, open case a cancel scope and a timer. Likewise a gate whose `release`
    never waits may have `release_now(key, *, answered)`, which the client calls
    instead of awaiting `release`.
    """

    async def acquire(self, key: str) -> None:
        """Wait until a request under `key` may be sent (returns at once while open)."""

    async def release(self, key: str, *, answered: bool) -> None:
        """The attempt is over; `answered`: the server answered it with anything but
        a rate-limit refusal (the answer's status line arrived)."""

    async def refused(self, key: str, retry_after: float) -> None:
        """The server refused a request under `key` with 429 and `Retry-After:
        retry_after` (or a `RateLimitError` arrived in a stream): close the gate."""


class _Quota:
    """The gate's view of one quota; every time is `time.monotonic()`, but for the
    window's waits, on the event loop's clock (their timer's)."""

    __slots__ = (
        "accepted",
        "admission",
        "closed_until",
        "epoch",
        "grow_at",
        "growth",
        "in_flight",
        "next_slot",
        "pace",
        "settling",
        "waiters",
        "window",
    )

    def __init__(self, window: int) -> None:
        self.closed_until = 0.0
        self.pace = 0.0  # requests per second; 0 while fully open
        self.next_slot = 0.0
        self.epoch = 0  # how many times the gate closed (a slot is valid for one epoch)
        self.accepted: deque[float] = deque()  # when answers were accepted, last WINDOW s
        self.in_flight = 0  # sent, not answered yet
        self.window = window
        self.growth = 0  # places added by accepted answers, open from `grow_at` on
        self.grow_at = 0.0
        # The requests waiting for a place in the window: when each one's `window_wait`
        # ends (on the loop's clock), and what wakes it. Then those let in, holding a
        # place, until their `SETTLE` ends. One timer (`admission`) serves both.
        self.waiters: deque[tuple[float, anyio.Event]] = deque()
        self.settling: deque[tuple[float, anyio.Event]] = deque()
        self.admission: asyncio.TimerHandle | None = None

    def trim(self, now: float) -> None:
        while self.accepted and self.accepted[0] < now - WINDOW:
            self.accepted.popleft()


class LocalRateLimitGate:
    """The in-process gate, shared by a client and its `with_options` copies (give the
    same instance to several clients to share it further). State is per quota key.

    `window`: at most this many requests per quota wait for their first answer at a
    time, plus one more per answer received (so a burst doubles its pace every round
    trip, like TCP's slow start): a burst of 1,000 against a quota it does not know
    sends `window` requests, not 1,000, before the first refusal can close the gate.
    A request waits for the window at most `window_wait` seconds (a slow server is not
    a refusing one: a refusal comes back fast). `window=None` turns this off.
    """

    def __init__(self, *, window: int | None = 64, window_wait: float = 0.25) -> None:
        if window is not None and (isinstance(window, bool) or window < 1):
            raise ValueError(f"window must be a positive int or None, got {window!r}")
        self._window = window
        self._window_wait = window_wait
        self._quotas: dict[str, _Quota] = {}

    def __repr__(self) -> str:
        limited = sum(1 for q in self._quotas.values() if q.pace)
        return f"<LocalRateLimitGate quotas={len(self._quotas)} limited={limited}>"

    def _quota(self, key: str) -> _Quota:
        quota = self._quotas.get(key)
        if quota is None:
            quota = self._quotas[key] = _Quota(self._window or 0)
        return quota

    def wait_time(self, key: str) -> float:
        """Seconds the next request under `key` would wait for the pace (0 while open)."""
        quota = self._quotas.get(key)
        if quota is None or not quota.pace:
            return 0.0
        now = time.monotonic()
        return max(0.0, quota.closed_until - now, quota.next_slot - now)

    def try_acquire(self, key: str) -> bool:
        """`acquire` without waiting: True if the request may go now (counted as
        acquired), False if it has to wait (nothing counted)."""
        quota = self._quotas.get(key) or self._quota(key)
        if (
            not quota.pace
            and not quota.waiters
            and (quota.in_flight < quota.window or not self._window)
        ):
            quota.in_flight += 1  # the common case: open, and room in the window
            return True
        return False

    async def acquire(self, key: str) -> None:
        if self.try_acquire(key):
            return
        quota = self._quotas[key]
        await self._enter_window(quota)
        try:
            await self.wait_for_slot(key)
        except BaseException:
            self._leave_window(quota)
            raise

    async def release(self, key: str, *, answered: bool) -> None:
        self.release_now(key, answered=answered)

    def release_now(self, key: str, *, answered: bool) -> None:
        """`release`, which never waits here."""
        quota = self._quotas.get(key) or self._quota(key)
        now = time.monotonic()
        if answered:
            accepted = quota.accepted
            accepted.append(now)
            if accepted[0] < now - WINDOW:
                quota.trim(now)
            if self._window is not None:
                if not quota.growth:
                    quota.grow_at = now + SETTLE
                quota.growth += 1
        self._leave_window(quota, now)

    async def refused(self, key: str, retry_after: float) -> None:
        self.close(key, retry_after, accepted_per_s=None)

    # --- the two halves, also used by the Redis gate -----------------------------------

    async def wait_for_slot(self, key: str) -> None:
        """Wait while the gate is closed, then for the next paced slot (a refusal while
        waiting closes the gate again: the slot is then taken again after it)."""
        quota = self._quotas.get(key)
        while quota is not None and quota.pace:
            now = time.monotonic()
            start = max(quota.closed_until, quota.next_slot)
            if now - start > 2 / quota.pace + WINDOW:
                quota.pace = 0.0  # demand fell below the pace: open fully
                return
            slot = max(now, start)
            interval = 1 / quota.pace
            quota.next_slot = slot + interval
            quota.pace *= 1 + GROWTH * interval
            epoch = quota.epoch
            try:
                await anyio.sleep(slot - now + random.uniform(0, JITTER * interval))
            except BaseException:
                # Cancelled while waiting: give the slot back if nobody queued behind
                # it (a slot given back twice would let two requests into one interval).
                if quota.epoch == epoch and quota.next_slot == slot + interval:
                    quota.next_slot = slot
                raise
            if quota.epoch == epoch:
                return

    def close(self, key: str, retry_after: float, *, accepted_per_s: float | None) -> None:
        """Close for `retry_after` seconds, then pace at the rate accepted in the last
        second (`accepted_per_s`, or this gate's own count)."""
        now = time.monotonic()
        quota = self._quota(key)
        if self._window is not None:
            quota.window = self._window  # a refusal starts the slow start over
            quota.growth = 0
        if now < quota.closed_until:
            return  # sent before the gate closed: the closing refusal said it all
        quota.trim(now)
        if accepted_per_s is None:
            accepted_per_s = len(quota.accepted) / WINDOW
        quota.closed_until = now + max(0.0, retry_after)
        quota.pace = max(MIN_PACE, accepted_per_s)
        quota.next_slot = quota.closed_until
        quota.epoch += 1

    async def _enter_window(self, quota: _Quota) -> None:
        if self._window is None or (quota.in_flight < quota.window and not quota.waiters):
            quota.in_flight += 1
            return
        loop = asyncio.get_running_loop()
        event = anyio.Event()
        entry = (loop.time() + self._window_wait, event)
        quota.waiters.append(entry)
        self._arm_admission(quota, loop, entry[0])
        try:
            await event.wait()  # let in (a place freed, or `window_wait` over), then settled
        except BaseException:
            if entry in quota.waiters:
                quota.waiters.remove(entry)
            else:  # let in, holding a place: pass it on, once (its settle ends unheeded)
                self._leave_window(quota)
            raise

    def _leave_window(self, quota: _Quota, now: float | None = None) -> None:
        quota.in_flight -= 1
        if quota.growth and (time.monotonic() if now is None else now) >= quota.grow_at:
            quota.window += quota.growth
            quota.growth = 0
        if quota.waiters and quota.in_flight < quota.window:
            loop = asyncio.get_running_loop()
            at = loop.time()  # (the window's waits are on the loop's clock)
            while quota.waiters and quota.in_flight < quota.window:
                self._let_in_first(quota, at)
            self._arm_admission(quota, loop, at + SETTLE)

    @staticmethod
    def _let_in_first(quota: _Quota, now: float) -> None:
        """The longest waiting request takes a place of its own (it releases it) and goes
        once `SETTLE` has passed. Answers come in the order sent: the accepted ones that
        let it in are followed within moments by any refusals of the same burst, which
        then close the gate before it looks."""
        quota.in_flight += 1
        quota.settling.append((now + SETTLE, quota.waiters.popleft()[1]))

    def _arm_admission(self, quota: _Quota, loop: asyncio.AbstractEventLoop, at: float) -> None:
        """The one timer of the window's waits, armed at `at` unless it is due sooner."""
        if quota.admission is not None:
            if quota.admission.when() <= at:
                return
            quota.admission.cancel()
        quota.admission = call_at(loop, at, self._admit_waited, quota, loop)

    def _admit_waited(self, quota: _Quota, loop: asyncio.AbstractEventLoop) -> None:
        """The window's bounds, one timer for all who wait: the requests whose `SETTLE`
        is over go, and a request that has waited `window_wait` is let in (a slow server
        is not a refusing one)."""
        quota.admission = None
        settling, waiters, now = quota.settling, quota.waiters, loop.time()
        while settling and settling[0][0] <= now:  # (in the order they were let in)
            settling.popleft()[1].set()
        while waiters and waiters[0][0] <= now:  # (in the order they came: oldest first)
            self._let_in_first(quota, now)
        due = [entries[0][0] for entries in (settling, waiters) if entries]
        if due:
            self._arm_admission(quota, loop, min(due))
