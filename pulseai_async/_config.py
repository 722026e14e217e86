"""Defaults, the timeout shape, and how the environment fills in a client's settings."""

from __future__ import annotations

import logging
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

    `total` bounds a whole non-streaming call. Streams ignore it, since a long answer
    is not an error; they are bounded by `connect` and by `read`, the longest silence
    between two chunks (the server pings every 10 s, so silence means a dead peer).
    """

    connect: float | None = 10.0
    read: float | None = 300.0
    total: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise PulseValidationError(
                    f"Timeout.{name} must be a positive number of seconds or None, got {value!r}"
                )


DEFAULT_TIMEOUT = Timeout()


def coerce_timeout(value: float | Timeout | None) -> Timeout:
    """A number sets `total` (and `read`, which can never usefully exceed it)."""
    if value is None:
        return Timeout(connect=None, read=None, total=None)
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PulseValidationError(f"timeout must be a positive number or a Timeout, got {value!r}")
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
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # A log record, not a warning: self-hosted servers on an internal host are
        # common, and a warning would break their `filterwarnings = error` test runs.
        logging.getLogger("pulseai_async").warning(
            "base_url %s://%s is plain http to a non-loopback host: "
            "the API key travels unencrypted",
            parts.scheme,
            parts.netloc.rpartition("@")[2],  # never a user:password part
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only plain-http URLs get here; not worth its import time for all

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
