"""One HTTP attempt over aiohttp: headers, signing, timeouts, and exception mapping.

Everything aiohttp can raise leaves this module as an SDK exception; an error status
leaves it as the typed `APIStatusError` subclass with the connection already released.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDict

from ._attempt import Attempt, PoolConnector, current_attempt
from ._body import ERROR_BODY_LIMIT, read_at_most
from ._config import Timeout
from ._deadlines import Deadlines
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    EventLoopMismatchError,
    UnexpectedContentTypeError,
    make_status_error,
    redirect_target,
)
from ._secrets import MASK, scrub
from ._signing import Signer
from ._version import __version__

__all__ = ["PreparedRequest", "Transport"]

logger = logging.getLogger("pulseai_async")

USER_AGENT = f"pulseai-async/{__version__} (python; aiohttp {aiohttp.__version__})"
FIXED_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
"""Sent with every request, unless the request says otherwise: the session's defaults
where the pool is the SDK's (aiohttp merges those in C, a request's own header by
header in Python), else added to each request."""
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-trace-id")
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-signature"})

Body = bytes | Callable[[], aiohttp.FormData] | None


class PreparedRequest(msgspec.Struct, kw_only=True, gc=False):
    """A request ready to send; the body is bytes, or a factory for multipart forms
    (a form is consumed when sent, so each retry builds a fresh one). Never part of a
    reference cycle (nothing it holds refers back to it), so not tracked by the cycle
    collector: one object less per call for it to count and walk."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Body = None
    quota: str = ""
    """The rate-limit gate's name for the key and scope this request is sent with."""

    def resendable(self) -> bool:
        """Whether the body can be sent again: not once a one-shot upload source (a
        pipe, a socket, an async stream without `seek`) has been read from."""
        check = getattr(self.body, "resendable", None)
        return True if check is None else bool(check())

    def __repr__(self) -> str:
        headers = {
            name: MASK if name.lower() in SECRET_HEADERS else value
            for name, value in self.headers.items()
        }
        return (
            f"PreparedRequest(method={self.method!r}, path={self.path!r}, "
            f"params={self.params!r}, headers={scrub(headers)!r})"
        )


class Response(aiohttp.ClientResponse):
    """aiohttp's response with a scrubbed repr (it shows the response headers, where an
    echoing server may have put the key; a stream holds its response)."""

    def __repr__(self) -> str:
        return scrub(super().__repr__())


def masked_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """A copy of a response's headers, any API key an echoing server put into them
    masked (what `headers` gives a stream and a raw response)."""
    return scrub(CIMultiDict(headers))


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The response's request id (scrubbed: a gateway may echo the key into it)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return scrub(value)
    return None


@functools.lru_cache(maxsize=128)
def _client_timeout(timeout: Timeout, reads: bool) -> aiohttp.ClientTimeout:
    """aiohttp's part of the timeouts, the same for every attempt under one `Timeout`,
    so built once: connecting, and, where `reads`, each silence while reading. The
    call's `total` cancels its scope when due (`Lifecycle.call`), which bounds its
    retries and its body too. The SDK bounds the rest itself, cheaper than aiohttp's
    read timer (two timers per call, one more per chunk): the response head by the
    `Attempt`, a blocking body by `read_body`, a stream's body by `BodyBounds`."""
    return aiohttp.ClientTimeout(
        sock_connect=timeout.connect, sock_read=timeout.read if reads else None
    )


class Transport:
    """Owns the aiohttp session (one connection pool) shared by a client and its copies."""

    def __init__(
        self,
        *,
        base_url: str,
        signer: Signer,
        deadlines: Deadlines,
        max_connections: int,
        max_connections_per_host: int,
        session: aiohttp.ClientSession | None,
        tls: bool | ssl.SSLContext,
        proxy: str | None,
    ) -> None:
        self.base_url = base_url
        self.signer = signer
        self.deadlines = deadlines
        self._max_connections = max_connections
        self._max_per_host = max_connections_per_host
        self._tls = tls
        self._proxy = proxy
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._session_on(asyncio.get_running_loop())

    def _session_on(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        """The session, made on first use; a client is bound to the loop it is first
        used on."""
        if self.closed:
            raise ClientClosedError("the connection pool")
        if loop is not self._loop:
            if self._loop is not None and self._session is not None:
                raise EventLoopMismatchError()
            self._loop = loop
        if self._session is None or self._session.closed:
            connector = PoolConnector(
                limit=self._max_connections,
                limit_per_host=self._max_per_host,
                ssl=self._tls,
                enable_cleanup_closed=False,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                headers=FIXED_HEADERS,
                json_serialize=lambda obj: msgspec.json.encode(obj).decode(),
                raise_for_status=False,
                auto_decompress=True,
                response_class=Response,
                proxy=self._proxy,
                trust_env=False,  # the environment's proxy was read once (`proxy_for`)
            )
        return self._session

    @property
    def connector(self) -> aiohttp.BaseConnector | None:
        """The pool, for inspection (tests assert nothing is left checked out)."""
        return self._session.connector if self._session is not None else None

    async def aclose(self) -> None:
        self.closed = True
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()

    def headers_of(self, request: PreparedRequest) -> dict[str, str]:
        """The request's headers as sent: signed now (again on every retry)."""
        headers = request.headers.copy() if self._owns_session else FIXED_HEADERS | request.headers
        timestamp = int(time.time())
        body = request.body if isinstance(request.body, bytes) else b""
        headers["X-Timestamp"] = str(timestamp)
        headers["X-Signature"] = self.signer.sign(
            method=request.method, path=request.path, timestamp=timestamp, body=body
        )
        return headers

    async def send(
        self,
        request: PreparedRequest,
        timeout: Timeout,
        *,
        stream: bool = False,
    ) -> aiohttp.ClientResponse:
        """Send once (the call's scope bounds it by the call's deadline). Returns a 2xx
        response with its body unread (for a stream, of the media type it accepts);
        raises otherwise. Only 2xx is success: a 3xx is a `RedirectError`, never
        followed (the key must not travel to another host)."""
        headers = self.headers_of(request)
        body: Any = request.body
        upload = callable(body)
        if upload:
            body = body()
        started = time.perf_counter()
        # The head is bounded from when the connection is ready (a JSON body is written
        # at once), by the SDK's pool; a blocking upload's from when its body is written
        # and a passed-in session's by aiohttp's read timer. A stream's `total` may be
        # long: its head always has the `read` bound, where the pool is the SDK's.
        aiohttp_reads = not stream and (upload or not self._owns_session)
        loop = asyncio.get_running_loop()
        attempt = Attempt(
            timeout,
            head=None if aiohttp_reads else timeout.read,
            deadlines=self.deadlines,
            loop=loop,
        )
        token = current_attempt.set(attempt)
        failure: APIConnectionError | None = None
        try:
            response = await self._session_on(loop).request(
                request.method,
                self.base_url + request.path,
                params=request.params or None,
                headers=headers,
                data=body,
                timeout=_client_timeout(timeout, aiohttp_reads),
                allow_redirects=False,
            )
        except TRANSPORT_ERRORS as exc:
            failure = attempt.failed(translate(exc, request), exc)
        finally:
            current_attempt.reset(token)
            attempt.finish()
        if attempt.expired:
            if attempt.head_expired and failure is None:
                response.close()  # the head came just as its bound ran out
            raise attempt.timed_out(f"{request.method} {request.path}")
        if failure is not None:  # raised here, so aiohttp's error is not its __context__
            try:
                raise failure
            finally:
                del failure  # the traceback holds this frame: no cycle through it
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                request.method,
                request.path,
                response.status,
                (time.perf_counter() - started) * 1000,
                request_id_of(response.headers),
            )
        status = response.status
        if 200 <= status < 300 and (not stream or _accepts(request, response.content_type)):
            return response
        raw = b""
        try:
            raw, _ = await read_at_most(response, ERROR_BODY_LIMIT, self.deadlines, timeout.read)
        except TRANSPORT_ERRORS as exc:
            failure = translate(exc, request)
            failure.stage = "answered"  # the status line came: never sent again
        finally:
            release(response)
        if failure is not None:
            try:
                raise failure
            finally:
                del failure  # the traceback holds this frame: no cycle through it
        if 200 <= status < 300:
            raise _unexpected_type(request, response, raw)
        raise make_status_error(
            status,
            raw,
            reason=response.reason or "",
            request_id=request_id_of(response.headers),
            retry_after=response.headers.get("Retry-After"),
            location=redirect_target(str(response.url), response.headers.get("Location")),
            headers=response.headers,
            method=request.method,
            path=request.path,
        )


TRANSPORT_ERRORS = (aiohttp.ClientError, OSError)


def _accepts(request: PreparedRequest, content_type: str) -> bool:
    """Whether a media type is one the request's `Accept` asked for (`text/event-stream`,
    or a range such as `audio/*`)."""
    for media in request.headers.get("Accept", "*/*").split(","):
        media = media.partition(";")[0].strip()
        if media in ("*/*", content_type):
            return True
        if media.endswith("/*") and content_type.startswith(media[:-1]):
            return True
    return False


def _unexpected_type(
    request: PreparedRequest, response: aiohttp.ClientResponse, raw: bytes
) -> UnexpectedContentTypeError:
    start = raw[:200].decode("utf-8", "replace")
    return UnexpectedContentTypeError(
        f"{request.method} {request.path}: expected {request.headers.get('Accept')}, got "
        f"{response.status} {response.content_type}; the body starts {start!r}",
        status=response.status,
        content_type=response.content_type,
        body=raw[:2000],
    )


def release(response: aiohttp.ClientResponse) -> None:
    """Hand a connection back to the pool if its body was read to the end; close it
    otherwise (unread or broken bytes must not reach the next request)."""
    if response.content.at_eof() and not response.content.exception():
        response.release()
    else:
        response.close()


def translate(exc: BaseException, request: PreparedRequest) -> APIConnectionError:
    """Map an aiohttp, socket or timeout exception to the SDK's own.

    aiohttp's exception is kept only as a summary in the message (scrubbed, like every
    `PulseError`), never as `__cause__`: its `request_info.headers` hold the
    `Authorization` header. Raise the result outside the `except` block, so it is not
    the `__context__` either. A certificate failure keeps a fresh copy of the `ssl`
    error as its cause (it carries no request), so callers can tell it apart.
    """
    exc.__traceback__ = None  # aiohttp may keep it on the response: no cycle via our frames
    where = f"{request.method} {request.path}"
    error: APIConnectionError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = APITimeoutError(f"{where}: timed out connecting", phase="connect")
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        error = APITimeoutError(f"{where}: timed out waiting for data", phase="read")
    elif isinstance(exc, asyncio.TimeoutError):
        error = APITimeoutError(f"{where}: timed out", phase="total")
    else:
        error = APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ssl.CertificateError):
        original = getattr(exc, "certificate_error", exc)
        error.__cause__ = ssl.SSLCertVerificationError(*original.args)
    return error
