"""`RedisRateLimitGate`: one rate-limit gate shared by every process that uses one Redis.

Bots scale out as several worker processes (or machines) on one API key, so one
process's 429 must hold back the others too. The gate's shared state (closed until
when, the pace, the next free slot, and the answers accepted in the last second) lives
in Redis and changes only inside small Lua scripts, on Redis's clock, so processes
never race or disagree about the time. The window of requests waiting for a first
answer stays per process (it is about this process's burst).

If Redis cannot be reached (or takes longer than `timeout` to answer), the gate logs a
warning and works as the in-process gate for `retry_after` seconds, then tries Redis
again: a lost Redis costs coordination, never a request, and never a hang.

Needs the optional extra: `pip install 'pulseai-async[redis]'`.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import random
import time
from types import TracebackType
from typing import Any

import anyio

from ._rate_gate import GROWTH, JITTER, MIN_PACE, SETTLE, WINDOW, LocalRateLimitGate

try:
    import redis.asyncio as redis_asyncio
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
    from redis.retry import Retry
except ImportError:  # pragma: no cover - exercised only without the extra
    redis_asyncio = None  # type: ignore[assignment]

__all__ = ["RedisRateLimitGate"]

logger = logging.getLogger("pulseai_async")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: state hash, sent zset. ARGV: growth, window, member, burst window, stale after,
# force. -> {wait, interval, epoch} (strings); wait -1: the burst window is full.
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
local h = redis.call('HMGET', KEYS[1], 'pace', 'closed_until', 'next_slot', 'epoch', 'window',
  'growth', 'grow_at')
local burst = tonumber(h[5]) or tonumber(ARGV[4])
local growth = tonumber(h[6]) or 0
if growth > 0 and now >= (tonumber(h[7]) or 0) then
  burst = burst + growth
  redis.call('HSET', KEYS[1], 'window', string.format('%d', burst), 'growth', '0')
end
if ARGV[6] == '0' and redis.call('ZCARD', KEYS[2]) >= burst then return {'-1', '0', '0'} end
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('EXPIRE', KEYS[2], 60)
local pace = tonumber(h[1]) or 0
local epoch = h[4] or '0'
if pace <= 0 then return {'0', '0', epoch} end
local start = math.max(tonumber(h[2]) or 0, tonumber(h[3]) or 0)
if now - start > 2 / pace + tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'pace', '0')
  return {'0', '0', epoch}
end
local slot = math.max(now, start)
local interval = 1 / pace
redis.call('HSET', KEYS[1], 'next_slot', string.format('%.6f', slot + interval),
  'pace', string.format('%.6f', pace * (1 + tonumber(ARGV[1]) * interval)))
return {string.format('%.6f', slot - now), string.format('%.6f', interval), epoch}
"""
)

# KEYS: state hash, accepted zset. ARGV: retry_after, window, min_pace, ttl, burst window.
_CLOSE = (
    _NOW
    + """
local closed = tonumber(redis.call('HGET', KEYS[1], 'closed_until')) or 0
redis.call('HSET', KEYS[1], 'window', ARGV[5], 'growth', '0')
if now < closed then return 0 end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local pace = math.max(tonumber(ARGV[3]), redis.call('ZCARD', KEYS[2]) / window)
local reopen = string.format('%.6f', now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'closed_until', reopen, 'next_slot', reopen,
  'pace', string.format('%.6f', pace), 'window', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
"""
)

# KEYS: accepted zset, state hash, sent zset. ARGV: member, window, settle, answered.
_RELEASE = (
    _NOW
    + """
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[4] == '0' then return 0 end
if redis.call('HINCRBY', KEYS[2], 'growth', 1) == 1 then
  redis.call('HSET', KEYS[2], 'grow_at', string.format('%.6f', now + tonumber(ARGV[3])))
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], 60)
return 1
"""
)

STALE = 30.0
"""Seconds after which a request still counted as waiting for its answer stops counting
(its process may have died without saying so)."""

_attempt: contextvars.ContextVar[str | None] = contextvars.ContextVar("pulseai_gate_attempt")
"""This task's current attempt, as the shared window knows it (acquire and release of
one attempt run in one task)."""


class RedisRateLimitGate:
    """A `RateLimitGate` shared through Redis by every client that uses the same
    `prefix` on the same server. Use it as `async with RedisRateLimitGate(url) as gate:`
    and pass it to each client: `AsyncPulse(rate_limit_gate=gate)`.

    `url` (`redis://host:port/db`) or `client` (a `redis.asyncio.Redis` you own);
    `timeout`: the longest a Redis call may take before the gate falls back to the
    in-process gate, for `retry_after` seconds; `max_connections` to Redis (from `url`).
    `window` and `window_wait` as for `LocalRateLimitGate`, applied twice: within
    this process, and across all processes (where a request that has waited
    `STALE` seconds for its answer stops counting, so a crashed process holds no place).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "pulseai:gate",
        timeout: float = 5.0,
        retry_after: float = 5.0,
        window: int | None = 64,
        window_wait: float = 0.25,
        max_connections: int = 16,
    ) -> None:
        if redis_asyncio is None:
            raise ImportError(
                "RedisRateLimitGate needs redis-py: pip install 'pulseai-async[redis]'"
            )
        if (url is None) == (client is None):
            raise ValueError("pass exactly one of url= or client=")
        self._owns_client = client is None
        if client is None:  # a few connections, shared: requests queue for one
            pool = redis_asyncio.BlockingConnectionPool.from_url(
                str(url),
                max_connections=max_connections,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
            client = redis_asyncio.Redis.from_pool(pool)  # closing it closes the pool
        self._redis: Any = client
        self._prefix = prefix
        self._timeout = timeout
        self._retry_after = retry_after
        self._local = LocalRateLimitGate(window=window, window_wait=window_wait)
        self._burst = window or 2**31  # the shared window of requests sent in a burst
        self._window_wait = window_wait
        self._degraded_until = 0.0
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._close = self._redis.register_script(_CLOSE)
        self._release = self._redis.register_script(_RELEASE)
        self._members = (f"{os.getpid()}:{random.getrandbits(32)}:{n}" for n in itertools.count())

    def __repr__(self) -> str:
        state = "degraded" if self.degraded else "shared"
        return f"<RedisRateLimitGate prefix={self._prefix!r} {state}>"

    async def __aenter__(self) -> RedisRateLimitGate:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the Redis connection if this gate opened it."""
        if self._owns_client:
            await self._redis.aclose()

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and the in-process gate stands in."""
        return time.monotonic() < self._degraded_until

    # --- the protocol -------------------------------------------------------------------

    async def acquire(self, key: str) -> None:
        await self._local._enter_window(self._local._quota(key))
        member = next(self._members)
        _attempt.set(member)
        try:
            await self._wait_for_slot(key, member)
        except BaseException:  # cancelled while waiting: give both places back, once
            self._local._leave_window(self._local._quota(key))
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._timeout):
                await self._call_raw("zrem", self._name(key, "sent"), member)
            raise

    async def release(self, key: str, *, answered: bool) -> None:
        await self._local.release(key, answered=answered)  # the window, and the fallback
        member = _attempt.get(None)
        if member is not None:
            _attempt.set(None)  # released once, whatever happens next
            keys = [self._name(key, "accepted"), self._name(key), self._name(key, "sent")]
            args = [member, WINDOW, SETTLE, "1" if answered else "0"]
            await self._call(self._release, keys, args)

    async def refused(self, key: str, retry_after: float) -> None:
        self._local.close(key, retry_after, accepted_per_s=None)  # warm for a fallback
        await self._call(
            self._close,
            [self._name(key), self._name(key, "accepted")],
            [retry_after, WINDOW, MIN_PACE, max(60, int(retry_after * 2)), self._burst],
        )

    # --- Redis, or the in-process gate when Redis is gone --------------------------------

    async def _wait_for_slot(self, key: str, member: str) -> None:
        keys = [self._name(key), self._name(key, "sent")]
        waited = 0.0
        while True:
            force = "1" if waited >= self._window_wait else "0"
            args = [GROWTH, WINDOW, member, self._burst, STALE, force]
            reply = await self._call(self._acquire, keys, args)
            if reply is None:  # Redis is gone: the in-process gate decides
                await self._local.wait_for_slot(key)
                return
            wait, interval, epoch = (float(x) for x in reply)
            if wait < 0:  # the burst window, shared by every process, is full: look
                # again once or twice (a refusal may close the gate meanwhile), then go
                pause = random.uniform(0.25, 0.75) * self._window_wait
                await anyio.sleep(pause)
                waited += pause
                continue
            if wait == 0:
                return
            await anyio.sleep(wait + random.uniform(0, JITTER * interval))
            current = await self._call_raw("hget", self._name(key), "epoch")
            if current is None or float(current) == epoch:
                return  # no refusal while waiting (or no Redis to ask): go

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        if self.degraded:
            return None
        try:
            with anyio.fail_after(self._timeout):
                return await script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._degrade(exc)
            return None

    async def _call_raw(self, command: str, *args: Any) -> Any:
        if self.degraded:
            return None
        try:
            with anyio.fail_after(self._timeout):
                return await getattr(self._redis, command)(*args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._degrade(exc)
            return None

    def _degrade(self, exc: BaseException) -> None:
        if not self.degraded:  # once per outage, not once per request
            logger.warning(
                "rate-limit gate: Redis is unreachable (%s: %s); using the in-process "
                "gate for %.0f s",
                type(exc).__name__,
                exc,
                self._retry_after,
            )
        self._degraded_until = time.monotonic() + self._retry_after

    def _name(self, key: str, part: str = "state") -> str:
        return f"{self._prefix}:{key}:{part}"
