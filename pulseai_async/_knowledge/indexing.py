"""Following a document batch's indexing to the end.

`watch_indexing` polls the Embedding Status endpoint with tenacity's exponential backoff
(a result-based retry: "not finished yet" is the reason to poll again) and yields a typed
`IndexingProgress` after every poll. `wait_for` drives it under an anyio deadline and
hands each snapshot to an optional callback. Failure and timeout are typed:
`IndexingFailedError` and `IndexingTimeoutError` (a `TimeoutError`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing

import anyio
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_result,
    stop_before_delay,
    stop_never,
    wait_exponential,
)

from .._errors import IndexingFailedError, IndexingTimeoutError, PulseValidationError
from .models import IndexingProgress, IndexingStatus

__all__ = ["ProgressCallback", "progress_of", "wait_for", "watch_indexing"]

ProgressCallback = Callable[[IndexingProgress], Awaitable[None] | None]
"""Called with each snapshot; a plain function or a coroutine function."""


def progress_of(batch: str, statuses: list[IndexingStatus]) -> IndexingProgress:
    """Sum a batch's per-document statuses into one snapshot (a finished document
    counts all of its segments as completed)."""
    completed = total = 0
    for doc in statuses:
        total += doc.total_segments
        done = doc.indexing_status == "completed"
        completed += doc.total_segments if done else min(doc.completed_segments, doc.total_segments)
    return IndexingProgress(
        batch=batch, documents=statuses, completed_segments=completed, total_segments=total
    )


def _check_failed(progress: IndexingProgress) -> None:
    for doc in progress.documents:
        if doc.indexing_status in ("error", "stopped"):
            raise IndexingFailedError(
                f"indexing of document {doc.id} ended in {doc.indexing_status!r}: "
                f"{doc.error or 'no reason given'}",
                document_id=doc.id,
                error=doc.error,
            )


def _check_timing(timeout: float | None, poll_interval: float, max_interval: float) -> None:
    if timeout is not None and timeout <= 0:
        raise PulseValidationError(f"timeout must be positive or None, got {timeout!r}")
    if poll_interval <= 0:
        raise PulseValidationError(f"poll_interval must be positive, got {poll_interval!r}")
    if max_interval < poll_interval:
        raise PulseValidationError("max_interval must be at least poll_interval")


async def watch_indexing(
    fetch: Callable[[], Awaitable[list[IndexingStatus]]],
    batch: str,
    *,
    timeout: float | None,
    poll_interval: float,
    max_interval: float,
) -> AsyncGenerator[IndexingProgress, None]:
    """Yield a snapshot per poll until the batch is finished (the last one yielded is
    the finished state)."""
    _check_timing(timeout, poll_interval, max_interval)
    retrying = AsyncRetrying(
        retry=retry_if_result(lambda progress: not progress.finished),
        wait=wait_exponential(multiplier=poll_interval, min=poll_interval, max=max_interval),
        stop=stop_never if timeout is None else stop_before_delay(timeout),
        sleep=anyio.sleep,
    )
    last: IndexingProgress | None = None
    try:
        async for attempt in retrying:
            with attempt:
                progress = progress_of(batch, await fetch())
            outcome = attempt.retry_state.outcome
            if outcome is None or outcome.failed:
                continue  # not retried: tenacity re-raises the error on the next step
            last = progress
            attempt.retry_state.set_result(last)
            _check_failed(last)
            yield last
    except RetryError:
        raise _timeout(batch, timeout, last) from None


def _timeout(
    batch: str, timeout: float | None, last: IndexingProgress | None
) -> IndexingTimeoutError:
    where = (
        f"; last seen {last.status!r}, {last.completed_segments}/{last.total_segments} segments"
        if last is not None
        else ""
    )
    return IndexingTimeoutError(
        f"indexing of batch {batch} did not finish within {timeout} s{where}", last=last
    )


async def wait_for(
    snapshots: AsyncGenerator[IndexingProgress, None],
    batch: str,
    *,
    timeout: float | None,
    on_progress: ProgressCallback | None,
) -> IndexingProgress:
    """Consume `snapshots` to the end under a deadline; return the final snapshot."""
    last: IndexingProgress | None = None
    with anyio.move_on_after(timeout) as scope:
        async with aclosing(snapshots):
            async for progress in snapshots:
                last = progress
                if on_progress is not None:
                    result = on_progress(progress)
                    if inspect.isawaitable(result):
                        await result
    if scope.cancelled_caught or last is None:
        raise _timeout(batch, timeout, last)
    return last
