"""Per-call options every endpoint method accepts as keyword arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from ._config import Timeout

__all__ = ["RequestOptions"]


class RequestOptions(TypedDict, total=False):
    """`timeout`, `max_retries`, `max_response_size` (bytes of a non-stream body), and
    extra headers, query parameters or JSON body fields.

    `extra_body` is merged into the JSON body last, so it can add fields the SDK does not
    know yet (or override ones it does).
    """

    timeout: float | Timeout | None
    """Seconds (or a `Timeout`) for this call instead of the client's; None: no limit."""
    max_retries: int
    """Retries for this call instead of the client's policy's (0: try once)."""
    max_response_size: int
    """The largest body this call reads, in bytes, instead of the client's bound."""
    extra_headers: Mapping[str, str]
    """Headers added to this request (they override the client's defaults)."""
    extra_query: Mapping[str, Any]
    """Query parameters added to this request."""
    extra_body: Mapping[str, Any]
    """JSON body fields merged in last, for fields the SDK does not know yet."""
