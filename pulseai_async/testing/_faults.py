"""Fault plans: scripted misbehaviour, so retries and error paths are tested for real.

A test says what goes wrong and when, in words close to the bug report:

```pycon
>>> emulator.faults.add(Fault.http_error(503, retry_after=1).on("/chat-messages").nth(2))
>>> emulator.faults.add(Fault.drop_after(40))         # the next stream loses its connection
>>> emulator.faults.add(Fault.error_after(10, "provider_quota_exceeded"))
>>> emulator.faults.add(Fault.rate_limit(50).on("/chat-messages"))  # a real quota
```
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator

import msgspec
from aiohttp import web

__all__ = ["Fault", "FaultPlan", "hang_up"]

FOREVER = 2**31
"""`times` for a fault that never runs out (see `Fault.always`)."""


class Fault(msgspec.Struct, kw_only=True):
    """One scripted misbehaviour, applied to matching requests.

    Matching: `method` and `path` (the path after `/v1`, exact, or a prefix ending in
    `*`; None matches any). `skip` lets that many matching requests through first ("the
    2nd request fails" is `skip=1`), then the fault applies to the next `times` of them.

    Before responding: `delay` seconds; then `disconnect` closes the connection without
    an answer, or `status` sends an error answer (with `code`, `message`, `retry_after`,
    `headers`, or a raw `body` such as a proxy's HTML page).

    A fault without `status` or `disconnect` but with a stream action is a stream fault:
    it waits for the next *streamed* response that matches (blocking calls pass it by),
    and after `after_events` events it `stall`s for that many seconds, sends a
    `malformed` frame, sends an in-stream `error_code` (with `error_status`, 400 by
    default, and `message`), or `drop`s the connection, in that order. If the answer
    has fewer events than `after_events`, the fault fires before `message_end`.

    With `rate` (requests per second) the fault is a token bucket holding up to
    `burst` requests (default: one second's worth, `rate`): a matching request that
    finds a token takes it and passes; one that finds none gets the error answer,
    with `Retry-After` set to the seconds until the next token, rounded up to whole
    seconds (RFC 9110 delay-seconds). `applied` counts the requests it answered.

    The class methods (`http_error`, `drop_after`, ...) build the common plans;
    `on`, `nth`, `repeated` and `always` return a copy scoped to some requests.
    """

    method: str | None = None
    path: str | None = None
    skip: int = 0
    times: int = 1
    delay: float = 0.0
    disconnect: bool = False
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: str | int | float | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: bytes | None = None
    after_events: int = 0
    drop: bool = False
    stall: float = 0.0
    malformed: bool = False
    error_code: str | None = None
    error_status: int = 400
    rate: float | None = None
    burst: float | None = None
    seen: int = 0
    """How many matching requests have come by so far (skipped ones included)."""
    applied: int = 0
    """How many requests it applied to (for `rate`: how many it refused)."""
    tokens: float | None = None
    """A `rate` fault's bucket (None: full); `refilled_at` is when it was last topped up."""
    refilled_at: float = 0.0

    def __post_init__(self) -> None:
        if self.skip < 0 or self.times < 0 or self.after_events < 0:
            raise ValueError("skip, times and after_events must be >= 0")
        if self.delay < 0 or self.stall < 0:
            raise ValueError("delay and stall must be >= 0 seconds")
        if self.rate is not None and (self.rate <= 0 or (self.burst or 1) < 1):
            raise ValueError("rate must be > 0 and burst >= 1")

    # --- the common plans -----------------------------------------------------------

    @classmethod
    def http_error(
        cls,
        status: int,
        code: str | None = None,
        *,
        message: str | None = None,
        retry_after: str | float | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Fault:
        """Answer with an error status: the documented `{code, message, status}` body
        (code defaults to the status's usual one), or `body` verbatim."""
        return cls(
            status=status,
            code=code,
            message=message,
            retry_after=retry_after,
            headers=dict(headers or {}),
            body=body,
        )

    @classmethod
    def rate_limit(
        cls, rate: float, *, burst: float | None = None, code: str = "too_many_requests"
    ) -> Fault:
        """Enforce a real rate: a token bucket of `rate` requests per second (holding up
        to `burst`, by default `rate`), refusing the excess with 429 and `Retry-After`.
        Applies to every matching request from now on."""
        return cls(status=429, code=code, rate=rate, burst=burst, times=FOREVER)

    def take_token(self, now: float) -> bool:
        """For a `rate` fault: take a token if there is one; else set `retry_after` to
        the whole seconds until there will be."""
        assert self.rate is not None
        capacity = self.burst or self.rate
        if self.tokens is None:
            self.tokens = capacity
        else:
            self.tokens = min(capacity, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.retry_after = max(1, math.ceil((1 - self.tokens) / self.rate))
        return False

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait `seconds` before handling the request (then answer normally)."""
        return cls(delay=seconds)

    @classmethod
    def disconnected(cls) -> Fault:
        """Close the connection without any answer (a reset, a crashed worker)."""
        return cls(disconnect=True)

    @classmethod
    def drop_after(cls, events: int) -> Fault:
        """Cut the connection of the next stream after `events` events."""
        return cls(after_events=events, drop=True)

    @classmethod
    def stall_after(cls, events: int, seconds: float) -> Fault:
        """Go silent for `seconds` after `events` events, then carry on streaming."""
        return cls(after_events=events, stall=seconds)

    @classmethod
    def malformed_after(cls, events: int) -> Fault:
        """Send a frame whose JSON is cut off after `events` events."""
        return cls(after_events=events, malformed=True)

    @classmethod
    def error_after(
        cls,
        events: int,
        code: str = "internal_server_error",
        *,
        status: int | None = None,
        message: str | None = None,
    ) -> Fault:
        """Send an in-stream `error` event after `events` events (HTTP 200, the status
        in the body: 500 for `internal_server_error`, 400 for other codes by default)."""
        if status is None:
            status = 500 if code == "internal_server_error" else 400
        return cls(after_events=events, error_code=code, error_status=status, message=message)

    # --- scoping ----------------------------------------------------------------------

    def on(self, path: str, method: str | None = None) -> Fault:
        """Only requests to `path` (after `/v1`; a trailing `*` matches a prefix)."""
        return msgspec.structs.replace(self, path=path, method=method)

    def nth(self, n: int) -> Fault:
        """Only the `n`-th matching request (1-based): `nth(2)` lets the first through."""
        if n < 1:
            raise ValueError("nth counts from 1")
        return msgspec.structs.replace(self, skip=n - 1, times=1)

    def repeated(self, times: int) -> Fault:
        """Apply to `times` matching requests in a row."""
        return msgspec.structs.replace(self, times=times)

    def always(self) -> Fault:
        """Apply to every matching request from now on."""
        return msgspec.structs.replace(self, times=FOREVER)

    # --- matching -----------------------------------------------------------------------

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return True
        wanted = self.path.removeprefix("/v1") if self.path.startswith("/v1/") else self.path
        if wanted.endswith("*"):
            return path.startswith(wanted[:-1])
        return path == wanted

    @property
    def is_stream_fault(self) -> bool:
        """Whether it acts inside a stream rather than before the answer."""
        return (
            self.status is None
            and not self.disconnect
            and (self.drop or self.stall > 0 or self.malformed or self.error_code is not None)
        )

    @property
    def retry_after_header(self) -> str | None:
        value = self.retry_after
        if value is None or isinstance(value, str):
            return value
        return f"{value:g}"


class FaultPlan:
    """The emulator's list of faults; each request takes the first that applies."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault | None = None, **fields: object) -> Fault:
        """Add a fault and return it: a `Fault`, its fields as keywords, or both (the
        keywords then override the fault's: `add(Fault.drop_after(3), times=2)`)."""
        if fault is None:
            fault = msgspec.convert(fields, Fault)
        elif fields:
            fault = msgspec.convert({**msgspec.structs.asdict(fault), **fields}, Fault)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str, path: str, *, stream: bool = False) -> Fault | None:
        """The fault for this request, counting it: plain faults (`stream=False`) are
        taken when a request arrives, stream faults when a streamed answer starts."""
        for fault in self._faults:
            if fault.times <= 0 or fault.is_stream_fault != stream:
                continue
            if not fault.matches(method, path):
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            if fault.rate is not None and fault.take_token(time.monotonic()):
                continue
            fault.times -= 1
            fault.applied += 1
            return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        """Faults that still have requests to apply to."""
        return [fault for fault in self._faults if fault.times > 0]

    def __len__(self) -> int:
        return len(self.pending)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.pending)

    def __repr__(self) -> str:
        return f"<FaultPlan pending={len(self)}>"


async def hang_up(request: web.Request) -> web.StreamResponse:
    """Close the connection (after what was already written) without finishing the
    answer. aiohttp then cancels the handler that called this."""
    assert request.transport is not None
    request.transport.close()
    await asyncio.sleep(3600)
    raise AssertionError("unreachable: a closed connection cancels its handler")
