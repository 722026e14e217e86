"""Per-call options every endpoint method accepts as keyword arguments, and their check."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypedDict

from ._config import Timeout, coerce_timeout
from ._errors import PulseValidationError
from ._validation import check_count, check_size

__all__ = ["RequestOptions", "check_options"]


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


OPTION_NAMES = frozenset(RequestOptions.__annotations__)


def check_options(options: Mapping[str, Any], where: str) -> RequestOptions:
    """The per-call options of the call `where` (`"GET /info"`), checked at run time.

    Typed methods gather unknown keyword arguments into `**options`, so a typo
    (`timout=3`) would be ignored silently where no type checker runs (a notebook): it
    is a `TypeError` naming the argument, as Python raises for any other function. A bad
    value is a `PulseValidationError`. (`extra_headers` is checked with the headers.)
    """
    if not options:  # most calls: nothing to check
        return options  # type: ignore[return-value]
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        hints = [
            f"{name!r} (did you mean {match[0]!r}?)"
            if (match := difflib.get_close_matches(name, OPTION_NAMES, n=1))
            else repr(name)
            for name in unknown
        ]
        raise TypeError(
            f"{where}: unexpected keyword argument{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(hints)}; the per-call options are {', '.join(sorted(OPTION_NAMES))}"
        )
    if "timeout" in options:
        coerce_timeout(options["timeout"])
    if options.get("max_retries") is not None:
        check_count("max_retries", options["max_retries"])
    if "max_response_size" in options:
        check_size("max_response_size", options["max_response_size"])
    for name in ("extra_query", "extra_body"):
        value = options.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise PulseValidationError(f"{name} must be a mapping, got {type(value).__name__}")
    return options  # type: ignore[return-value]
