"""`pulse.with_raw_response`: any method's result together with its HTTP response.

Derived once for every method rather than written per method: the proxy walks the
client's resources, and each coroutine method it hands out runs with a slot in a
context variable, which the call's `Trace` fills when it succeeds. Methods that return
a stream come back unchanged (a stream has `status`, `headers` and `request_id` itself
once open); a pager comes back in raw form: `await ....list(...).first_page()` gives the
first page's `RawResponse`.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import PulseError
from ._hooks import Trace, raw_response_slot

if TYPE_CHECKING:
    from multidict import CIMultiDict


__all__ = ["RawResponse", "RawResponseClient"]

T = TypeVar("T")


class RawResponse(Generic[T]):
    """A call's HTTP response and its typed result (`parse()`)."""

    __slots__ = (
        "elapsed",
        "headers",
        "http_method",
        "parsed",
        "path",
        "request_id",
        "retries_taken",
        "status",
        "url",
    )

    def __init__(self, parsed: T, trace: Trace) -> None:
        call = trace.call
        self.parsed = parsed
        """The typed result, as the method itself returns it."""
        self.status: int = call.status or 0
        self.headers: CIMultiDict[str] = trace.headers()
        """The response's headers (case-insensitive; any API key masked)."""
        self.request_id = call.request_id
        self.elapsed: float = call.elapsed or 0.0
        """Seconds from sending the first attempt to the decoded result."""
        self.http_method = call.method
        self.url = call.url
        """The base URL and path requested, without the query string."""
        self.path = call.path
        self.retries_taken = call.attempts - 1

    @property
    def status_code(self) -> int:
        """The same as `status`."""
        return self.status

    def parse(self) -> T:
        """The typed result (the same object every time)."""
        return self.parsed

    def __repr__(self) -> str:
        return (
            f"<RawResponse {self.http_method} {self.path} {self.status} "
            f"request_id={self.request_id!r} elapsed={self.elapsed:.3f}s>"
        )


class RawResponseClient:
    """`pulse.with_raw_response`: the same resources and methods, each coroutine
    method returning a `RawResponse` instead of its result."""

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        from ._pagination import AsyncPager
        from ._resource import Resource

        value = getattr(self._target, name)
        if isinstance(value, Resource):
            return RawResponseClient(value)
        if name.startswith("_") or not callable(value) or isinstance(value, type):
            return value
        if inspect.iscoroutinefunction(value):
            return _raw_method(value)

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)  # a stream, a pager
            return RawResponseClient(result) if isinstance(result, AsyncPager) else result

        return call

    def __repr__(self) -> str:
        return f"<with_raw_response of {self._target!r}>"


def _raw_method(method: Any) -> Any:
    @functools.wraps(method)
    async def raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
        slot: list[Trace] = []
        token = raw_response_slot.set(slot)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            raw_response_slot.reset(token)
        if not slot:
            raise PulseError(f"{method.__qualname__} sent no request, so it has no response")
        return RawResponse(parsed, slot[0])

    return raw
