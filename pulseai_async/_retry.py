"""One retry policy object, executed by tenacity.

What is retried: connection failures (including connect timeouts; not certificate
failures), 429 (except the `rate_limit_error` plan quota, which waiting does not fix)
and 500/502/503/504.
Never 4xx otherwise, never a read timeout (the server may have acted), and never a
stream once its response has started (so never after an event was yielded). Waits grow
exponentially with random jitter; a `Retry-After` from the server replaces the computed
wait, capped.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import anyio
import msgspec
import tenacity

from ._errors import APIConnectionError, APIStatusError, APITimeoutError, PulseValidationError
from ._validation import check_count

__all__ = ["RetryPolicy"]

logger = logging.getLogger("pulseai_async")


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When and how long to wait before trying a request again.

    `max_retries` is the number of extra attempts (0 disables retries).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def __post_init__(self) -> None:
        check_count("max_retries", self.max_retries)
        if self.initial_delay < 0 or self.max_delay < 0 or self.jitter < 0:
            raise PulseValidationError("retry delays must be >= 0")

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, APITimeoutError):
            return exc.phase == "connect"
        if isinstance(exc, APIConnectionError):
            # A certificate that fails verification fails again: do not retry it.
            return not isinstance(exc.__cause__, ssl.SSLCertVerificationError)
        if isinstance(exc, APIStatusError):
            return exc.status in self.retry_statuses and exc.code != "rate_limit_error"
        return False

    def retrying(self, max_retries: int | None = None, *, what: str = "request") -> Any:
        """A tenacity `AsyncRetrying` for one call; `max_retries` overrides the policy's."""
        attempts = (
            self.max_retries if max_retries is None else check_count("max_retries", max_retries)
        ) + 1
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.initial_delay, max=self.max_delay, jitter=self.jitter
        )

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                return float(min(retry_after, self.max_retry_after))
            return float(backoff(state))

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info(
                "retrying %s (attempt %d of %d) after %s; waiting %.2fs",
                what,
                state.attempt_number + 1,
                attempts,
                _reason(exc),
                state.upcoming_sleep,
            )

        return tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=wait,
            retry=tenacity.retry_if_exception(self.should_retry),
            before_sleep=log_retry,
            sleep=anyio.sleep,
            reraise=True,
        )


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, APIStatusError):
        return f"{exc.status} {exc.code or type(exc).__name__}"
    return type(exc).__name__
