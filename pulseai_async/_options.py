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
    max_retries: int
    max_response_size: int
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, Any]
    extra_body: Mapping[str, Any]
