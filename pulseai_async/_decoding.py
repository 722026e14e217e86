"""Decoding a whole answer into its type, in a context of the SDK's own.

A `Decimal` (an answer's prices) is made under the current decimal context, which
lives in a context variable: the first one made in a task creates a context for that
task and stores it in the task's context variables, where it stays, four objects the
cycle collector walks, until the task ends. A web handler's or a bot's task that makes
one call would carry them for nothing. Answers are decoded in one context per thread
instead, whose decimal context is made once.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from typing import Any

import msgspec

__all__ = ["decode"]

_per_thread = threading.local()


@functools.cache
def _decoder_for(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_, strict=False)


def decode(raw: bytes, type_: Any) -> Any:
    """`raw` decoded into `type_` (fields it does not know are ignored); raises
    `msgspec.DecodeError` (or `RecursionError`) as msgspec's decoder does."""
    context: contextvars.Context | None = getattr(_per_thread, "context", None)
    if context is None:
        context = _per_thread.context = contextvars.Context()
    return context.run(_decoder_for(type_).decode, raw)
