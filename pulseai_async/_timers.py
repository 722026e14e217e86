"""Timers on the event loop that keep nothing of the task that armed them.

asyncio runs a timer's callback in a copy of the context the timer was armed in, and a
cancelled timer stays in the loop's heap until its time comes (or until more than half
of the heap is cancelled). A stream's read bound of 300 s, armed in a web handler's
task, kept that request's context variables (the request object, a tracing span, a
database session) alive for five minutes after the stream had ended. None of the SDK's
timer callbacks reads a context variable, so each runs in an empty context of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import TypeVarTuple

__all__ = ["call_at"]

Ts = TypeVarTuple("Ts")


def call_at(
    loop: asyncio.AbstractEventLoop,
    when: float,
    callback: Callable[[*Ts], object],
    *args: *Ts,
) -> asyncio.TimerHandle:
    """`loop.call_at`, in an empty context instead of a copy of the caller's."""
    return loop.call_at(when, callback, *args, context=contextvars.Context())
