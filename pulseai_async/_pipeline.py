"""What a resource needs of the client: the request pipeline, as a protocol.

Resources, pagers and streams are handed a `Pipeline` (the `AsyncPulse` that made
them) and never import the client back, so the App and Knowledge wings depend on the
core and not the other way round. `StreamOpener` is how the pipeline hands a stream
its not-yet-sent request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    import aiohttp

    from ._config import Timeout
    from ._errors import RateLimitError
    from ._hooks import Trace
    from ._lifecycle import Lifecycle
    from ._options import RequestOptions
    from ._transport import PreparedRequest

__all__ = ["Pipeline", "Scope", "StreamOpener"]

T = TypeVar("T")
Scope = Literal["app", "knowledge"]
"""Which API key a request is signed with."""


class StreamOpener:
    """How a stream starts: its prepared request, sent with retries when called
    (`await opener()`), the timeouts and size bounds its body runs under, the client's
    lifecycle, which ends it on `aclose()`, the `Trace` of its call, and what an
    in-stream rate-limit error does (it closes the rate-limit gate of the request's
    key). Plain fields rather than closures: one object a stream holds while it is open,
    not a cell for each variable a closure would capture."""

    __slots__ = (
        "lifecycle",
        "max_event_size",
        "max_response_size",
        "max_text_length",
        "options",
        "pipeline",
        "request",
        "timeout",
        "trace",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        request: PreparedRequest,
        options: RequestOptions,
        timeout: Timeout,
        lifecycle: Lifecycle,
        trace: Trace,
        *,
        max_event_size: int,
        max_text_length: int,
        max_response_size: int,
    ) -> None:
        self.pipeline = pipeline
        self.request = request
        self.options = options
        self.timeout = timeout
        self.lifecycle = lifecycle
        self.trace = trace
        self.max_event_size = max_event_size
        self.max_text_length = max_text_length
        self.max_response_size = max_response_size

    def __call__(self) -> Awaitable[aiohttp.ClientResponse]:
        return self.pipeline._open_stream(self)

    def on_rate_limit(self, exc: RateLimitError) -> Awaitable[None]:
        return self.pipeline._rate_limited(self.request.quota, exc)


class Pipeline(Protocol):
    """Every request of every resource passes through `_call` or `_stream_opener`:
    options checked, signed, gated, sent with retries, reported to the hooks, decoded.
    A stream's opener calls back `_open_stream` to send and `_rate_limited` after an
    in-stream rate-limit error."""

    def _call(
        self,
        method: str,
        path: str,
        cast_to: type[T] | None,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        scope: Scope = "app",
        options: RequestOptions,
    ) -> Awaitable[T]:
        """Send and decode into `cast_to` (None: accept any body, or none); bad input is
        refused at once, before the returned awaitable runs."""
        ...

    def _stream_opener(
        self, path: str, body: Mapping[str, Any], accept: str, options: RequestOptions
    ) -> StreamOpener:
        """A streamed POST prepared now (bad input fails at once), sent when called."""
        ...

    async def _open_stream(self, opener: StreamOpener) -> aiohttp.ClientResponse:
        """Send a stream's request in its call's scope: a 2xx response, body unread."""
        ...

    async def _rate_limited(self, quota: str, exc: RateLimitError) -> None:
        """Close the rate-limit gate of `quota` after an in-stream rate-limit error."""
        ...
