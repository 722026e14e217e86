"""Client-wide hooks: what every call and every attempt reports while it runs.

A hook is any object with one or more of `on_request(RequestInfo)` (before each attempt
is sent), `on_response(ResponseInfo)` (after each attempt: a response head, an error
status or a failure) and `on_call_end(CallInfo)` (a call returned or raised, a stream
ended). The client calls them from `_send`, the one place every attempt passes through,
and from the end of each call or stream. They see the method, the path, statuses,
timings, request ids, usage and ids from the result, never the API key, and never a
request or response body unless a hook sets `capture_content = True` (then
`CallInfo.input_text` and `output_text` hold the query and the answer).

Hooks are plain functions called in the request's task: keep them quick (schedule a task
for slow work). A hook that raises is logged on the `pulseai_async` logger and skipped;
the call goes on as if it were not there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import msgspec
from multidict import CIMultiDict

from ._errors import APIStatusError, PulseValidationError
from ._transport import masked_headers, request_id_of

if TYPE_CHECKING:
    from ._transport import PreparedRequest

__all__ = ["CallInfo", "Hook", "RequestInfo", "ResponseInfo"]

raw_response_slot: ContextVar[list[Trace] | None] = ContextVar("pulseai_raw_response", default=None)
"""Set by a `with_raw_response` call: the `Trace` of its successful request lands here."""

logger = logging.getLogger("pulseai_async")

HOOK_METHODS = ("on_request", "on_response", "on_call_end")


class CallInfo:
    """One call (or one stream), from its first attempt to its end. The same object is
    passed to every hook the call reaches, so a hook can keep state keyed by it."""

    __slots__ = (
        "__weakref__",
        "attempts",
        "conversation_id",
        "elapsed",
        "error_type",
        "input_text",
        "input_tokens",
        "method",
        "output_text",
        "output_tokens",
        "path",
        "request_id",
        "response_id",
        "started",
        "status",
        "stream",
        "time_to_first_event",
        "url",
    )

    def __init__(self, method: str, path: str, url: str, *, stream: bool) -> None:
        self.method = method
        self.path = path
        """The request path without the query string (`/chat-messages`)."""
        self.url = url
        """The base URL and the path, without the query string."""
        self.stream = stream
        self.attempts = 0
        """How many attempts have been sent (retries are `attempts - 1`)."""
        self.started = 0.0
        """`time.perf_counter()` when the first attempt was sent."""
        self.status: int | None = None
        """The last attempt's HTTP status (None: no response came)."""
        self.request_id: str | None = None
        self.error_type: str | None = None
        """None on success; the exception's class name when the call raised
        (`RateLimitError`, `CancelledError`); `"cancelled"` for a stream its reader
        closed before the terminal event."""
        self.elapsed: float | None = None
        """Seconds from the first attempt to the end (a stream's: to its last event)."""
        self.time_to_first_event: float | None = None
        """A stream's seconds from the first attempt to its first event."""
        self.conversation_id: str | None = None
        self.response_id: str | None = None
        """The answer's `message_id`, for chat and completion calls."""
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.input_text: str | None = None
        """The query sent, only for hooks with `capture_content = True`."""
        self.output_text: str | None = None
        """The answer, only for hooks with `capture_content = True`."""

    def __repr__(self) -> str:
        return (
            f"CallInfo({self.method} {self.path}, attempts={self.attempts}, "
            f"status={self.status}, error_type={self.error_type!r})"
        )


class RequestInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Passed to `on_request` before each attempt is sent."""

    method: str
    path: str
    attempt: int
    """1 for the first try, 2 for the first retry, ..."""
    call: CallInfo


class ResponseInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Passed to `on_response` after each attempt."""

    method: str
    path: str
    attempt: int
    status: int | None
    """The HTTP status; None when no response came (a connection failure, a timeout)."""
    elapsed: float
    """Seconds from sending this attempt to its response head (or its failure)."""
    request_id: str | None
    error_type: str | None
    """None for a 2xx; else the class name of the error this attempt raised."""
    call: CallInfo


class Hook:
    """A base class for hooks: override the methods you need (any object with one of
    them will do as well)."""

    capture_content: bool = False
    """Set to True to receive the query and the answer in `CallInfo`."""

    def on_request(self, info: RequestInfo) -> None:
        """Before each attempt is sent."""

    def on_response(self, info: ResponseInfo) -> None:
        """After each attempt: its response head, its error status, or its failure."""

    def on_call_end(self, call: CallInfo) -> None:
        """Once per call, when it returned or raised (a stream: when it ended)."""


class Hooks:
    """The hooks of a client, sorted by what they listen to."""

    __slots__ = ("capture_content", "hooks", "on_call_end", "on_request", "on_response")

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        if isinstance(hooks, str | bytes) or not isinstance(hooks, Sequence):
            raise PulseValidationError(f"hooks must be a list of hook objects, got {hooks!r}")
        for hook in hooks:
            if not any(callable(getattr(hook, name, None)) for name in HOOK_METHODS):
                raise PulseValidationError(
                    f"a hook needs one of the methods {', '.join(HOOK_METHODS)}, got {hook!r}"
                )
        self.hooks = tuple(hooks)
        self.on_request = _bound(hooks, "on_request")
        self.on_response = _bound(hooks, "on_response")
        self.on_call_end = _bound(hooks, "on_call_end")
        self.capture_content = any(getattr(hook, "capture_content", False) for hook in hooks)


def _bound(hooks: Sequence[Any], name: str) -> tuple[Callable[[Any], object], ...]:
    return tuple(method for hook in hooks if callable(method := getattr(hook, name, None)))


def _run(hooks: tuple[Callable[[Any], object], ...], arg: object) -> None:
    for hook in hooks:
        try:
            hook(arg)
        except Exception:  # a hook must not break the call: logged, then skipped
            logger.exception("the hook %r raised; the call goes on without it", hook)


class Trace:
    """What one call reports: built by the client for each call or stream, fed by the
    attempts (`_send`) and ended once by the call (or the stream) with its outcome."""

    __slots__ = ("_done", "_headers", "_hooks", "call")

    def __init__(
        self,
        hooks: Hooks,
        request: PreparedRequest,
        base_url: str,
        *,
        stream: bool = False,
    ) -> None:
        self._hooks = hooks
        self._done = False
        self._headers: Mapping[str, str] = {}
        self.call = CallInfo(request.method, request.path, base_url + request.path, stream=stream)
        if hooks.capture_content and isinstance(request.body, bytes):
            query = _decode_query(request.body)
            self.call.input_text = query

    def attempt_started(self) -> float:
        call = self.call
        call.attempts += 1
        now = time.perf_counter()
        if call.attempts == 1:
            call.started = now
        if self._hooks.on_request:
            _run(
                self._hooks.on_request,
                RequestInfo(method=call.method, path=call.path, attempt=call.attempts, call=call),
            )
        return now

    def attempt_ended(
        self,
        started: float,
        response: Any = None,
        error: BaseException | None = None,
        error_type: str | None = None,
    ) -> None:
        """After one attempt: `response` (a 2xx aiohttp response) or the `error` it raised
        (`error_type`: what to call it, when it is a cancellation the call's scope turns
        into another error)."""
        call = self.call
        if response is not None:
            self._headers = response.headers
            status: int | None = response.status
            request_id = request_id_of(response.headers)
            error_type = None
        elif isinstance(error, APIStatusError):
            self._headers = error.headers
            status, request_id, error_type = error.status, error.request_id, type(error).__name__
        else:
            status, request_id = None, None
            if error_type is None and error is not None:
                error_type = type(error).__name__
        call.status, call.request_id = status, request_id
        if self._hooks.on_response:
            _run(
                self._hooks.on_response,
                ResponseInfo(
                    method=call.method,
                    path=call.path,
                    attempt=call.attempts,
                    status=status,
                    elapsed=time.perf_counter() - started,
                    request_id=request_id,
                    error_type=error_type,
                    call=call,
                ),
            )

    def first_event(self) -> None:
        """A stream's first event arrived."""
        call = self.call
        if call.time_to_first_event is None and call.attempts:
            call.time_to_first_event = time.perf_counter() - call.started

    def headers(self) -> CIMultiDict[str]:
        """The last response's headers (a copy, any API key an echoing server put into
        them masked)."""
        return masked_headers(self._headers)

    def finish(
        self, result: Any = None, error: BaseException | None = None, *, error_type: str = ""
    ) -> None:
        """The call ended: returned `result`, raised `error`, or (a stream) ended early
        with `error_type`. Only the first call counts; nothing is reported for a call
        that never sent an attempt."""
        if self._done:
            return
        self._done = True
        call = self.call
        if not call.attempts or (call.stream and not self._hooks.on_call_end):
            return  # nothing sent, or a stream's outcome that nobody reads
        call.elapsed = time.perf_counter() - call.started
        call.error_type = type(error).__name__ if error is not None else (error_type or None)
        if result is not None:  # a stream that ended early still says what it had learned
            _learn(call, result, self._hooks.capture_content)
        if call.error_type is None and not call.stream:
            slot = raw_response_slot.get()
            if slot is not None:  # a `with_raw_response` call waits for this response
                slot[:] = [self]
        if self._hooks.on_call_end:
            _run(self._hooks.on_call_end, call)


class Untraced(Trace):
    """The trace of a call or stream that nobody reads (no hooks and, for a blocking
    call, no `with_raw_response` waiting for it): it records nothing, which spares every
    such call the bookkeeping and every open stream two objects."""

    __slots__ = ()

    def __init__(self) -> None:  # one shared instance; nothing to hold
        pass

    def attempt_started(self) -> float:
        return 0.0

    def attempt_ended(
        self,
        started: float,
        response: Any = None,
        error: BaseException | None = None,
        error_type: str | None = None,
    ) -> None:
        pass

    def first_event(self) -> None:
        pass

    def finish(
        self,
        result: Any = None,
        error: BaseException | None = None,
        *,
        error_type: str = "",
    ) -> None:
        pass


UNTRACED = Untraced()


def _learn(call: CallInfo, result: Any, capture_content: bool) -> None:
    """Ids and usage from a chat answer (`ChatMessage`, a `ChatStream`), else nothing."""
    call.conversation_id = getattr(result, "conversation_id", None) or None
    call.response_id = getattr(result, "message_id", None) or None
    usage = getattr(result, "usage", None)
    if usage is None:
        usage = getattr(getattr(result, "metadata", None), "usage", None)
    if usage is not None:
        call.input_tokens = getattr(usage, "prompt_tokens", None)
        call.output_tokens = getattr(usage, "completion_tokens", None)
    if capture_content:
        text = getattr(result, "answer", None)
        if text is None:
            text = getattr(result, "text", None)
        call.output_text = text if isinstance(text, str) else None


def _decode_query(body: bytes) -> str | None:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    query = decoded.get("query") if isinstance(decoded, dict) else None
    return query if isinstance(query, str) else None
