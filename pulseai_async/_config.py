"""Defaults, the timeout shape, and how the environment fills in a client's settings."""

from __future__ import annotations

import logging
import math
import os
from urllib.parse import urlsplit

import msgspec

from ._errors import PulseValidationError

__all__ = ["DEFAULT_BASE_URL", "Timeout"]

DEFAULT_BASE_URL = "https://api-platform.digitpulse.ai/v1"
API_KEY_ENV = "PULSEAI_API_KEY"
KNOWLEDGE_API_KEY_ENV = "PULSEAI_KNOWLEDGE_API_KEY"
BASE_URL_ENV = "PULSEAI_BASE_URL"
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_CONNECTIONS_PER_HOST = 0  # no per-host cap: one host serves every call
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024  # a non-stream body, after decompression
DEFAULT_MAX_TEXT_LENGTH = 16 * 1024 * 1024  # characters a chat stream accumulates


class Timeout(msgspec.Struct, frozen=True, kw_only=True):
    """How long a request may take, in seconds; `None` means no limit.

    `total` bounds a whole non-streaming call, retries and their waits included; for a
    stream it bounds the start (everything up to its status line and headers, retries
    included). `read` bounds each silence of the server (it pings a stream every 10 s,
    so silence means a dead peer): the wait for the response head once the connection
    is ready (a head sent one byte a second is cut off; an upload's wait starts once
    its body is sent), then each wait of the reader for the body's next chunk (for a
    stream, time spent on an event does not count: what arrived meanwhile is never
    lost). `pool` bounds the wait for a free connection when `max_connections` are
    busy. A stream's body is not bounded by `total`, since a
    long answer is not an error: set `stream` to bound its whole duration and
    `between_events` to bound the wait for its next content event (pings and comments
    do not count).
    """

    connect: float | None = 10.0
    read: float | None = 300.0
    total: float | None = 600.0
    pool: float | None = None
    stream: float | None = None
    between_events: float | None = None

    def __post_init__(self) -> None:
        for name in _TIMEOUT_FIELDS:
            value = getattr(self, name)
            if value is not None and not _is_seconds(value):
                raise PulseValidationError(
                    f"Timeout.{name} must be a positive number (finite, in seconds) or None, "
                    f"got {value!r}"
                )


_TIMEOUT_FIELDS = ("connect", "read", "total", "pool", "stream", "between_events")


def _is_seconds(value: object) -> bool:
    """A positive, finite int or float (NaN would delay the event loop's other timers,
    infinity overflows them)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


DEFAULT_TIMEOUT = Timeout()


def coerce_timeout(value: float | Timeout | None) -> Timeout:
    """A number sets `total` (and `read`, which can never usefully exceed it); the stream
    bounds stay unset."""
    if value is None:
        return Timeout(connect=None, read=None, total=None)
    if isinstance(value, Timeout):
        return value
    if not _is_seconds(value):
        raise PulseValidationError(
            f"timeout must be a positive number (finite, in seconds) or a Timeout, got {value!r}"
        )
    seconds = float(value)
    return Timeout(
        connect=min(DEFAULT_TIMEOUT.connect or seconds, seconds), read=seconds, total=seconds
    )


def resolve_api_key(explicit: str | None, env_name: str) -> str | None:
    key = explicit if explicit is not None else os.environ.get(env_name)
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise PulseValidationError(
            f"the API key must be a non-empty string (argument or {env_name})"
        )
    return key.strip() if key else None


def resolve_base_url(explicit: str | None) -> str:
    url = explicit if explicit is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise PulseValidationError(f"base_url must be a string, got {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PulseValidationError(f"base_url must be an http(s) URL with a host, got {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # A log record, not a warning: self-hosted servers on an internal host are
        # common, and a warning would break their `filterwarnings = error` test runs.
        logging.getLogger("pulseai_async").warning(
            "base_url %s://%s is plain http to a non-loopback host: "
            "the API key travels unencrypted",
            parts.scheme,
            parts.netloc.rpartition("@")[2],  # never a user:password part
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only plain-http URLs get here; not worth its import time for all

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
