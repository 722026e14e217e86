"""One try of a request, as aiohttp's tracing signals report it.

The signals tell what aiohttp's exceptions do not: whether the attempt waited for a
free connection (`max_connections` busy), whether it reused a keep-alive connection,
and when its request bytes went out. They move the attempt's anyio cancel scope:
`Timeout.pool` while it waits for the pool, then `Timeout.read` from the last request
byte sent to the end of the response head (a server that sends its headers one byte a
second, or never finishes them, is cut off). They also decide how far a failed attempt
got (`APIConnectionError.stage`), which decides whether it may be retried.

Only a session the SDK creates carries these signals; on a session passed in, pool
waits and response heads are bounded by `total` alone and no disconnect counts as
stale.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio

from ._config import Timeout
from ._errors import APIConnectionError, APITimeoutError

__all__ = ["Attempt", "attempt_tracing"]


class Attempt:
    """The state of one attempt; `scope` bounds its `session.request(...)`."""

    __slots__ = ("queued", "reused", "scope", "timeout")

    def __init__(self, timeout: Timeout) -> None:
        self.timeout = timeout
        self.scope = anyio.CancelScope()
        self.queued = False
        self.reused = False

    def _arm(self, seconds: float | None) -> None:
        self.scope.deadline = math.inf if seconds is None else anyio.current_time() + seconds

    def timed_out(self, where: str) -> APITimeoutError:
        """The error for this attempt's scope running out."""
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


async def _queued_start(session: Any, context: SimpleNamespace, params: Any) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, Attempt):
        attempt.queued = True
        attempt._arm(attempt.timeout.pool)


async def _queued_end(session: Any, context: SimpleNamespace, params: Any) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, Attempt):
        attempt.queued = False
        attempt._arm(None)


async def _connected(session: Any, context: SimpleNamespace, params: Any) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, Attempt):
        attempt._arm(attempt.timeout.read)


async def _reused(session: Any, context: SimpleNamespace, params: Any) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, Attempt):
        attempt.reused = True
        attempt._arm(attempt.timeout.read)


def attempt_tracing() -> aiohttp.TraceConfig:
    """The tracing signals an SDK-made session carries."""
    config = aiohttp.TraceConfig()
    config.on_connection_queued_start.append(_queued_start)
    config.on_connection_queued_end.append(_queued_end)
    config.on_connection_create_end.append(_connected)
    config.on_connection_reuseconn.append(_reused)
    config.on_request_headers_sent.append(_connected)
    config.on_request_chunk_sent.append(_connected)
    config.freeze()
    return config
