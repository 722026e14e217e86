"""Fault plans: scripted misbehaviour, so retries and error paths are tested for real."""

from __future__ import annotations

import msgspec
from aiohttp import web

__all__ = ["FAULT_KEY", "Fault", "FaultPlan"]


class Fault(msgspec.Struct, kw_only=True):
    """One scripted misbehaviour, applied to matching requests.

    Matching: `method` and `path` (the path after `/v1`, exact, or a prefix ending in
    `*`). `skip` lets that many matching requests through first ("the 2nd request
    fails" is `skip=1`), then the fault applies to the next `times` of them.

    Before responding: `delay` seconds, then an error answer if `status` is set (with
    `code`, `message`, `retry_after`, `headers`, or a raw `body` such as a proxy's HTML).
    During a stream (no `status`): after `after_events` events, `drop` the connection,
    `stall` for that many seconds, send a `malformed` frame, or send an in-stream
    `error_code` (with `status` 400 by default and `message`).
    """

    method: str | None = None
    path: str | None = None
    skip: int = 0
    times: int = 1
    delay: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: bytes | None = None
    after_events: int = 0
    drop: bool = False
    stall: float = 0.0
    malformed: bool = False
    error_code: str | None = None
    error_status: int = 400
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    @property
    def is_stream_fault(self) -> bool:
        return self.status is None and (
            self.drop or self.stall > 0 or self.malformed or self.error_code is not None
        )


class FaultPlan:
    """The emulator's list of faults; each request takes the first that applies."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault | None = None, **fields: object) -> Fault:
        """Add a fault (a `Fault`, or its fields as keywords) and return it."""
        fault = fault if fault is not None else msgspec.convert(fields, Fault)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times <= 0 or not fault.matches(method, path):
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            fault.times -= 1
            return fault
        return None

    def __len__(self) -> int:
        return sum(1 for fault in self._faults if fault.times > 0)


FAULT_KEY = web.RequestKey("pulseai_fault", Fault)
"""Where the emulator leaves a stream fault for the route that streams."""
