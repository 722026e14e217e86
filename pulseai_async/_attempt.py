"""One try of a request, and the connection pool that tells it what happened.

`PoolConnector` (the SDK's aiohttp connector) tells the running `Attempt` what
aiohttp's exceptions do not: whether it had to wait for a free connection
(`max_connections` busy) and whether it got a reused keep-alive connection. A wait for
the pool is bounded by `Timeout.pool` in an anyio cancel scope entered only when the
pool is full (most attempts never wait, and a scope per attempt would cost them). A
attempt is then bounded by `Timeout.read` from the moment its connection is ready to
the end of its response head (a server that sends its headers one byte a second, or
never finishes them, is cut off): an entry in the client's `Deadlines` that, when due,
fails aiohttp's wait for the head the way aiohttp's own read timer does
(`set_exception` on the connection's protocol), cheaper than that timer (two per
blocking call) or a second cancel scope. How far a failed attempt got
(`APIConnectionError.stage`) decides whether it may be retried.

Only the pool the SDK creates does this; with a session passed in, pool waits are
bounded by `total` alone, a blocking call's head by aiohttp's read timer, a stream's
by `total`, and no disconnect counts as stale.
"""

from __future__ import annotations

import asyncio
from contextvars import Context, ContextVar
from typing import Any

import aiohttp
import anyio
from aiohttp.connector import Connection

from ._config import Timeout
from ._deadlines import Deadlines
from ._errors import APIConnectionError, APITimeoutError

__all__ = ["Attempt", "PoolConnector", "current_attempt"]

current_attempt: ContextVar[Attempt | None] = ContextVar("pulseai_attempt", default=None)
"""The attempt running in this task (set around `session.request`)."""


class Attempt:
    """The state of one attempt; `head` (seconds, or None) bounds its wait for the
    response head once its connection is ready (`finish()` ends the bound)."""

    __slots__ = (
        "_deadlines",
        "_head_bound",
        "_loop",
        "_protocol",
        "head",
        "head_expired",
        "pool_expired",
        "queued",
        "reused",
        "timeout",
    )

    def __init__(
        self,
        timeout: Timeout,
        *,
        head: float | None,
        deadlines: Deadlines,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.timeout = timeout
        self.head = head
        self._deadlines = deadlines
        self._loop = loop
        self._head_bound: int | None = None
        self._protocol: Any = None
        self.head_expired = False
        self.pool_expired = False
        self.queued = False
        self.reused = False

    @property
    def expired(self) -> bool:
        """Whether the pool or head bound ran out (the attempt then failed)."""
        return self.head_expired or self.pool_expired

    def _bound_head(self, protocol: Any, seconds: float) -> None:
        """From now on the response head must come within `seconds`."""
        self._protocol = protocol
        self._head_bound = self._deadlines.add(self._loop.time() + seconds, self._head_ran_out)

    def _head_ran_out(self) -> None:
        self._head_bound = None
        self.head_expired = True
        # what aiohttp's own read timer does: the wait for the head raises, and the
        # connection is closed, never pooled
        self._protocol.set_exception(aiohttp.SocketTimeoutError("no response head within read"))

    def finish(self) -> None:
        """The attempt got its head or failed: its head bound ends."""
        if self._head_bound is not None:
            self._deadlines.discard(self._head_bound)
            self._head_bound = None

    def timed_out(self, where: str) -> APITimeoutError:
        """The error for this attempt's pool or head bound running out."""
        if self.queued:
            return APITimeoutError(
                f"{where}: no free connection within the pool timeout of "
                f"{self.timeout.pool} s (max_connections are all in use)",
                phase="pool",
                stage="connect",
            )
        return APITimeoutError(
            f"{where}: the response did not start within the read timeout of {self.timeout.read} s",
            phase="read",
        )

    def failed(self, error: APIConnectionError, exc: BaseException) -> APIConnectionError:
        """`error` (translated from aiohttp's `exc`) with the stage the attempt reached."""
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            error.stage = "connect"
        elif isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
            error.stage = "answered"  # a malformed or cut response: the server did answer
        elif self.reused and isinstance(
            exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError
        ):
            # A pooled keep-alive connection the server had already closed: the request
            # was not processed (RFC 9112, 9.3.1). aiohttp raises this before any
            # complete response head.
            error.stage = "stale"
        else:
            error.stage = "sent"
        return error


class PoolConnector(aiohttp.TCPConnector):
    """aiohttp's connector, reporting each checkout to the attempt that asked for it."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Connection:
        attempt = current_attempt.get()
        if attempt is None:
            return await super().connect(req, traces, timeout)
        attempt.reused = True  # unless aiohttp has to make one (`_create_connection`)
        pool = attempt.timeout.pool
        if pool is not None and self._may_queue(req):
            attempt.queued = True
            with anyio.move_on_after(pool) as waited:
                connection = await super().connect(req, traces, timeout)
            if waited.cancelled_caught:
                attempt.pool_expired = True
                raise aiohttp.ConnectionTimeoutError("no free connection within pool")
            attempt.queued = False
        else:
            connection = await super().connect(req, traces, timeout)
        if attempt.head is not None:  # the response must start within `read`
            attempt._bound_head(connection.protocol, attempt.head)
        return connection

    def _may_queue(self, req: Any) -> bool:
        """Whether aiohttp may queue this request for a free connection (its own test,
        `_available_connections`), the cheap half first: without a per-host limit only
        the total counts, and the request's pool key (a tuple built anew each time) is
        not needed. Only worth asking when the wait is bounded."""
        if not self.limit_per_host:
            return 0 < self.limit <= len(self._acquired)
        return self._available_connections(req.connection_key) <= 0

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        """A new connection, made in an empty context: its transport reads in a copy of
        the context it was made in for as long as the pool keeps it, which would keep the
        variables of whichever caller's task first needed it (a web request, a span).
        aiohttp calls this only when no pooled connection was free: the attempt asking
        is told its connection is not a reused one."""
        attempt = current_attempt.get()
        if attempt is not None:
            attempt.reused = False
        making = asyncio.create_task(
            super()._create_connection(req, traces, timeout), context=Context()
        )
        try:
            return await making
        except BaseException:
            # cancelled just as it was made: this call will not use it, nor will anyone
            if making.done() and not making.cancelled() and making.exception() is None:
                making.result().close()
            raise
