"""One retry policy object, executed by tenacity.

What is retried depends on how far the request got (`APIConnectionError.stage`) and on
its method:

- nothing sent (a connection refused, a DNS failure, a connect or pool timeout) and a
  stale keep-alive connection (a pooled connection the server had closed, before any
  response): every method. Not a certificate that fails verification: it fails again.
- sent but not answered (a disconnect or reset, a read timeout waiting for the
  response): only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE), since the
  server may have acted on a POST (a chat turn would be duplicated).
- answered: an error status in `retry_statuses` (429 except the `rate_limit_error`
  plan quota, which waiting does not fix; 500/502/503/504), which is the server saying
  it did not complete the request. Never a malformed or cut-off response, never other
  statuses, never a stream once its response has started.

Waits grow exponentially with random jitter; a `Retry-After` from the server replaces
the computed wait, capped. A retry whose wait would end past the call's `total`
deadline is not started: the last failure is raised at once.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import tenacity

from ._errors import APIConnectionError, APIStatusError, PulseValidationError
from ._validation import check_count

__all__ = ["RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""RFC 9110 9.2.2: sending these twice has the effect of sending them once."""

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
        for name in ("initial_delay", "max_delay", "jitter", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise PulseValidationError(
                    f"RetryPolicy.{name} must be a finite number of seconds >= 0, got {value!r}"
                )

    def should_retry(self, exc: BaseException, method: str = "POST") -> bool:
        """Whether a failure of a `method` request may be retried (see the module)."""
        if isinstance(exc, APIConnectionError):
            stage = exc.stage
            if stage == "connect":
                # A certificate that fails verification fails again: do not retry it.
                return not isinstance(exc.__cause__, ssl.SSLCertVerificationError)
            if stage == "stale":
                return True
            return stage == "sent" and method.upper() in IDEMPOTENT_METHODS
        if isinstance(exc, APIStatusError):
            return exc.status in self.retry_statuses and exc.code != "rate_limit_error"
        return False

    def retrying(
        self,
        max_retries: int | None = None,
        *,
        what: str = "request",
        method: str = "POST",
        within: float = math.inf,
        resendable: Callable[[], bool] = lambda: True,
    ) -> Any:
        """A tenacity `AsyncRetrying` for one call; `max_retries` overrides the policy's.

        `within` (seconds) is what is left of the call's total timeout: a retry whose
        wait would end after it is not started. `resendable` says whether the request's
        body can be sent again (a one-shot upload source cannot)."""
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

        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(attempts)
        if math.isfinite(within):
            stop = stop | tenacity.stop_before_delay(within)
        return tenacity.AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(
                lambda exc: self.should_retry(exc, method) and resendable()
            ),
            before_sleep=log_retry,
            sleep=anyio.sleep,
            reraise=True,
        )


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, APIStatusError):
        return f"{exc.status} {exc.code or type(exc).__name__}"
    return type(exc).__name__
