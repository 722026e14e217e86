"""Keeping API keys out of everything the SDK says: exceptions, log records, reprs.

A server, proxy or gateway can echo the `Authorization` header back in any field it
controls (an error code, a request id, an event name, a malformed header that aiohttp
quotes). Rather than trusting each place that builds a message, every client registers
its keys here and two choke points pass everything through `scrub`: `PulseError` (its
arguments and every attribute set on it, so pickles are clean too) and a filter on the
`pulseai_async` logger (every record's message and arguments).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["MASK", "register", "scrub"]

MASK = "***"
MIN_LENGTH = 8
"""Shorter keys are not masked: they are no real key (those are `app-` and 24
characters), and masking them would garble every message that contains those letters."""
_PARTIAL_FROM = 16
"""A cut-off key (aiohttp truncates the raw bytes it quotes) is masked as soon as 4
characters past its prefix show (`app-`, `dataset-`), for keys at least this long."""

T = TypeVar("T")

_secrets: tuple[str, ...] = ()  # replaced whole, never mutated: safe to read from threads
_lock = threading.Lock()


def register(secret: str) -> None:
    """Mask `secret` from now on, in this process (keys are few; the list never shrinks)."""
    global _secrets
    with _lock:
        if isinstance(secret, str) and len(secret) >= MIN_LENGTH and secret not in _secrets:
            _secrets = (*_secrets, secret)


def scrub(value: T) -> T:
    """`value` with every registered key replaced by `***`, in text, bytes, and the
    strings, bytes, lists, tuples and dicts nested in decoded JSON, and in headers (a
    `CIMultiDict` copy). Other values pass through unchanged."""
    if not _secrets:
        return value
    return _scrub(value)  # type: ignore[no-any-return]


def _scrub(value: Any) -> Any:
    # Every whole key first: another key's prefix masked first would leave this one's tail.
    if isinstance(value, str):
        for secret in _secrets:
            value = value.replace(secret, MASK)
        for secret in _secrets:
            value = _masked(value, secret, MASK)
        return value
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        encoded = [secret.encode("utf-8", "replace") for secret in _secrets]
        for raw in encoded:
            data = data.replace(raw, MASK.encode())
        for raw in encoded:
            data = _masked(data, raw, MASK.encode())
        return data
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, CIMultiDict | CIMultiDictProxy):  # response headers
        return CIMultiDict((name, _scrub(item)) for name, item in value.items())
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, tuple) and type(value) is tuple:  # not named tuples: keep their type
        return tuple(_scrub(item) for item in value)
    return value


def _masked(text: Any, secret: Any, mask: Any) -> Any:
    """Replace any run of `secret`'s leading characters long enough to identify it (a
    key cut short by a truncated quote) with `mask`; whole keys are already masked."""
    if len(secret) < _PARTIAL_FROM:
        return text
    dash = secret.find("-" if isinstance(secret, str) else b"-")
    head = secret[: max(8, dash + 5)]
    start = text.find(head)
    while start != -1:
        end = start + len(head)
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + mask + text[end:]
        start = text.find(head, start + len(mask))
    return text


class _ScrubFilter(logging.Filter):
    """Rewrites each record of the SDK's logger with its message already formatted and
    scrubbed (so a handler that formats it later cannot bring a key back)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = scrub(record.getMessage())
            record.args = ()
            if record.exc_text:
                record.exc_text = scrub(record.exc_text)
        return True


logging.getLogger("pulseai_async").addFilter(_ScrubFilter())
