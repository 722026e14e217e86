"""`AsyncPulse`: configuration, the connection pool, and the request pipeline.

Request in, typed object out: `_prepare` builds the request, `_send` runs it through the
retry policy and the transport, `request` decodes the body into the type asked for.
Resources (`chat`, `conversations`, ...) are thin layers that validate their input and
call these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import aiohttp
import anyio
import msgspec

from ._body import arrived_body, read_body
from ._config import (
    API_KEY_ENV,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_TEXT_LENGTH,
    DEFAULT_TIMEOUT,
    KNOWLEDGE_API_KEY_ENV,
    Timeout,
    coerce_timeout,
    resolve_api_key,
    resolve_base_url,
)
from ._decoding import decode
from ._errors import (
    APIStatusError,
    PulseError,
    PulseValidationError,
    RateLimitError,
    ResponseDecodeError,
)
from ._hooks import UNTRACED, Hooks, Trace, raw_response_slot
from ._lifecycle import CallScope, Lifecycle
from ._network import SSLSetting, proxy_for, ssl_setting
from ._options import RequestOptions, check_options
from ._pipeline import Scope, StreamOpener
from ._rate_gate import LocalRateLimitGate, RateLimitGate, gate_key
from ._raw import RawResponseClient
from ._resource import Resource
from ._retry import RetryPolicy
from ._secrets import register as register_secret
from ._secrets import scrub
from ._signing import Signer, TimestampSigner
from ._transport import (
    TRANSPORT_ERRORS,
    PreparedRequest,
    Transport,
    release,
    translate,
)
from ._validation import (
    check_count,
    check_headers,
    check_query_value,
    check_size,
    check_token,
    json_body,
)

if TYPE_CHECKING:
    from ._app.app_info import App
    from ._app.audio import Audio
    from ._app.chat import Chat
    from ._app.conversations import Conversations
    from ._app.files import Files
    from ._app.messages import Messages
    from ._knowledge.datasets import Datasets

__all__ = ["AsyncPulse"]

T = TypeVar("T")
_RESOURCES = {
    "chat": ("._app.chat", "Chat"),
    "conversations": ("._app.conversations", "Conversations"),
    "messages": ("._app.messages", "Messages"),
    "files": ("._app.files", "Files"),
    "audio": ("._app.audio", "Audio"),
    "app": ("._app.app_info", "App"),
    "datasets": ("._knowledge.datasets", "Datasets"),
}
"""Each resource's module and class: imported on first use, so `import pulseai_async`
costs little more than its dependencies (a chat bot never loads the Knowledge API)."""
DEFAULT_RETRY_AFTER = 1.0  # how long the gate closes after a 429 that names no time


class _Unchanged:
    """`with_options`' default: keep this client's value. Its repr is what `help()` and
    the reference show in the signature."""

    def __repr__(self) -> str:
        return "<unchanged>"


_NOT_GIVEN: Any = _Unchanged()


class AsyncPulse:
    """An async client for the PulseAI API, owning one aiohttp connection pool.

    Use it as `async with AsyncPulse() as pulse:` (or call `aclose()`). The keys and the
    base URL come from the arguments or from `PULSEAI_API_KEY`,
    `PULSEAI_KNOWLEDGE_API_KEY` and `PULSEAI_BASE_URL`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        knowledge_api_key: str | None = None,
        timeout: float | Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        signer: Signer | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_connections_per_host: int = DEFAULT_MAX_CONNECTIONS_PER_HOST,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        max_text_length: int = DEFAULT_MAX_TEXT_LENGTH,
        default_headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        verify_ssl: SSLSetting = True,
        proxy: str | None = None,
        trust_env: bool = True,
        rate_limit_gate: RateLimitGate | Literal[False] | None = None,
        hooks: Sequence[object] = (),
    ) -> None:
        app_key = resolve_api_key(api_key, API_KEY_ENV)
        knowledge_key = resolve_api_key(knowledge_api_key, KNOWLEDGE_API_KEY_ENV)
        for key in (app_key, knowledge_key):
            if key is not None:
                register_secret(key)
        if app_key is None and knowledge_key is None:
            raise PulseValidationError(
                f"no API key: pass api_key=... or set {API_KEY_ENV} "
                f"(or knowledge_api_key / {KNOWLEDGE_API_KEY_ENV} for the Knowledge API)"
            )
        policy = retry_policy or RetryPolicy()
        if max_retries is not None:
            policy = msgspec.structs.replace(
                policy, max_retries=check_count("max_retries", max_retries)
            )
        if signer is not None and not isinstance(signer, Signer):
            raise PulseValidationError(
                "signer must have a sign(method, path, timestamp, body) method"
            )
        self._max_event_size = check_size("max_event_size", max_event_size)
        self._max_response_size = check_size("max_response_size", max_response_size)
        self._max_text_length = check_size("max_text_length", max_text_length)
        check_count("max_connections", max_connections)
        check_count("max_connections_per_host", max_connections_per_host)
        if session is not None and (proxy is not None or verify_ssl is not True):
            raise PulseValidationError(
                "proxy and verify_ssl configure the client's own session: set them on the "
                "aiohttp session you pass instead"
            )
        if rate_limit_gate not in (None, False) and not isinstance(rate_limit_gate, RateLimitGate):
            raise PulseValidationError(
                "rate_limit_gate must have acquire, release and refused coroutines "
                f"(see RateLimitGate), got {rate_limit_gate!r}"
            )
        url = resolve_base_url(base_url)
        self._keys: dict[str, str | None] = {"app": app_key, "knowledge": knowledge_key}
        self._quotas = {scope: gate_key(key, scope) for scope, key in self._keys.items() if key}
        self._gate: RateLimitGate | None = (
            LocalRateLimitGate() if rate_limit_gate is None else rate_limit_gate or None
        )
        # an optional fast path of the gate's (looked up once, not per attempt)
        self._try_acquire: Callable[[str], bool] | None = getattr(self._gate, "try_acquire", None)
        self._release_now: Callable[..., None] | None = getattr(self._gate, "release_now", None)
        self._timeout = coerce_timeout(timeout)
        self._retry_policy = policy
        self._default_headers = check_headers("default_headers", default_headers)
        self._hooks = Hooks(hooks)
        self._lifecycle = Lifecycle()  # shared with `with_options` copies
        self._transport = Transport(
            base_url=url,
            signer=signer or TimestampSigner(),
            deadlines=self._lifecycle.deadlines,
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            session=session,
            tls=ssl_setting(verify_ssl),
            proxy=proxy_for(proxy, trust_env, url),
        )
        self._owns_transport = True
        self._resources: dict[str, Resource] = {}

    # --- configuration ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """str: the API's base URL, e.g. `https://api-platform.digitpulse.ai/v1`."""
        return self._transport.base_url

    @property
    def timeout(self) -> Timeout:
        """Timeout: the default of every call (per call: `timeout=`)."""
        return self._timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """RetryPolicy: when and how calls are retried (per call: `max_retries=`)."""
        return self._retry_policy

    @property
    def connector(self) -> aiohttp.BaseConnector | None:
        """aiohttp.BaseConnector | None: the connection pool (None until the first request)."""
        return self._transport.connector

    # --- the resources (`_RESOURCES`)

    @property
    def chat(self) -> Chat:
        """Chat: send a message (blocking or streamed) and stop a generation."""
        return cast("Chat", self._resource("chat"))

    @property
    def conversations(self) -> Conversations:
        """Conversations: list, rename and delete conversations; read their message history."""
        return cast("Conversations", self._resource("conversations"))

    @property
    def messages(self) -> Messages:
        """Messages: feedback on answers and the follow-up questions suggested after them."""
        return cast("Messages", self._resource("messages"))

    @property
    def files(self) -> Files:
        """Files: upload files to attach to messages."""
        return cast("Files", self._resource("files"))

    @property
    def audio(self) -> Audio:
        """Audio: speech to text and text to audio."""
        return cast("Audio", self._resource("audio"))

    @property
    def app(self) -> App:
        """App: the app's information, parameters and meta information."""
        return cast("App", self._resource("app"))

    @property
    def datasets(self) -> Datasets:
        """Datasets: knowledge bases (the Knowledge API), their documents, chunks, retrieval."""
        return cast("Datasets", self._resource("datasets"))

    def _resource(self, name: str) -> Resource:
        """This client's resource `name`, created (its module imported) on first use.
        (Looked up before importing: a function-level import costs about 2 us a call.)"""
        resource = self._resources.get(name)
        if resource is None:
            from importlib import import_module  # (not imported by `import pulseai_async`)

            module, cls = _RESOURCES[name]
            resource = getattr(import_module(module, __package__), cls)(self)
            self._resources[name] = resource
        return resource

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = _NOT_GIVEN,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_event_size: int | None = None,
        max_response_size: int | None = None,
        max_text_length: int | None = None,
        hooks: Sequence[object] | None = None,
    ) -> AsyncPulse:
        """A copy with other defaults that shares this client's connection pool.

        The copy does not own the pool: closing it is a no-op; close the original.
        `hooks` replaces the original's hooks (pass `[*old, new]` to add one).
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._owns_transport = False
        if timeout is not _NOT_GIVEN:
            clone._timeout = coerce_timeout(timeout)
        if retry_policy is not None:
            clone._retry_policy = retry_policy
        if max_retries is not None:
            clone._retry_policy = msgspec.structs.replace(
                clone._retry_policy, max_retries=max_retries
            )
        if default_headers is not None:
            headers = check_headers("default_headers", default_headers)
            clone._default_headers = {**self._default_headers, **headers}
        if max_event_size is not None:
            clone._max_event_size = check_size("max_event_size", max_event_size)
        if max_response_size is not None:
            clone._max_response_size = check_size("max_response_size", max_response_size)
        if max_text_length is not None:
            clone._max_text_length = check_size("max_text_length", max_text_length)
        if hooks is not None:
            clone._hooks = Hooks(hooks)
        clone._resources = {}  # those of the original are bound to it
        return clone

    @property
    def with_raw_response(self) -> Any:
        """The same resources, each method returning a `RawResponse` (status, headers,
        request id, elapsed time, and the typed result from `.parse()`):
        `raw = await pulse.with_raw_response.chat.send(...)`."""
        return RawResponseClient(self)

    @property
    def hooks(self) -> tuple[object, ...]:
        """The hooks every call of this client reports to."""
        return self._hooks.hooks

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> AsyncPulse:
        _ = self._transport.session  # create the pool inside the running loop
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool and end what still uses it: running calls raise
        `ClientClosedError` at once (never retried), open streams end and their readers
        raise `ClientClosedError`, later calls raise it too, also on `with_options`
        copies. A no-op on a copy: close the original."""
        if self._owns_transport:
            self._lifecycle.close()
            await self._transport.aclose()

    def __repr__(self) -> str:
        scopes = [scope for scope, key in self._keys.items() if key]
        return f"AsyncPulse(base_url={self.base_url!r}, keys={scopes}, timeout={self._timeout!r})"

    # --- the request pipeline -----------------------------------------------------------

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        scope: Scope = "app",
        options: RequestOptions,
    ) -> PreparedRequest:
        # Every call passes here (streams when created, pagers per page), so this is the
        # one place per-call options and request-wide values are checked, before sending.
        check_options(options, f"{method} {path}")
        key = self._keys[scope]
        if key is None:
            env = API_KEY_ENV if scope == "app" else KNOWLEDGE_API_KEY_ENV
            raise PulseValidationError(f"this call needs the {scope} API key ({env})")
        headers = {"Authorization": f"Bearer {key}", **self._default_headers}
        # (Every merge and copy below is skipped when there is nothing to add: this runs
        # once per request, and most requests have no extras.)
        extra_body = options.get("extra_body")
        body: bytes | Callable[[], aiohttp.FormData] | None = None
        if form is not None:
            if extra_body:
                raise PulseValidationError("extra_body is not supported on multipart uploads")
            body = form
        elif json is not None or extra_body:
            payload = (
                json
                if type(json) is dict and not extra_body
                else {**(json or {}), **(extra_body or {})}
            )
            body = json_body(payload)
            headers["Content-Type"] = "application/json"
        if options.get("extra_headers") is not None:
            headers.update(check_headers("extra_headers", options["extra_headers"]))
        extra_query = options.get("extra_query")
        query = {**(params or {}), **extra_query} if extra_query else params
        return PreparedRequest(
            method=method,
            path=path,
            params={k: check_query_value(k, v) for k, v in query.items() if v is not None}
            if query
            else {},
            headers=headers,
            body=body,
            quota=self._quotas[scope],
        )

    def _trace(self, request: PreparedRequest, *, stream: bool = False) -> Trace:
        """The call's trace; a call that no hook and no raw response reads gets one that
        records nothing (a stream never fills a raw response)."""
        if not self._hooks.hooks and (stream or raw_response_slot.get() is None):
            return UNTRACED
        return Trace(self._hooks, request, self.base_url, stream=stream)

    def _timeout_of(self, options: RequestOptions) -> Timeout:
        return coerce_timeout(options["timeout"]) if "timeout" in options else self._timeout

    def _stream_opener(
        self, path: str, body: Mapping[str, Any], accept: str, options: RequestOptions
    ) -> StreamOpener:
        """A streamed POST prepared now (bad input fails at once), sent when called."""
        request = self._prepare("POST", path, json=body, options=options)
        request.headers["Accept"] = accept
        return StreamOpener(
            self,
            request,
            options,
            self._timeout_of(options),
            self._lifecycle,
            self._trace(request, stream=True),
            max_event_size=self._max_event_size,
            max_text_length=self._max_text_length,
            max_response_size=options.get("max_response_size", self._max_response_size),
        )

    async def _open_stream(self, opener: StreamOpener) -> aiohttp.ClientResponse:
        """Send a stream's request in its call's scope (`Lifecycle.call`)."""
        request, timeout = opener.request, opener.timeout
        with self._lifecycle.call(f"{request.method} {request.path}", timeout.total) as scope:
            return await self._send(
                request, opener.options, timeout, scope, opener.trace, stream=True
            )

    async def _send(
        self,
        request: PreparedRequest,
        options: RequestOptions,
        timeout: Timeout,
        call_scope: CallScope,
        trace: Trace,
        *,
        stream: bool = False,
    ) -> aiohttp.ClientResponse:
        """Send with retries; a 2xx response with its body unread, or a typed error.

        Runs inside `call_scope` (`Lifecycle.call`), which `aclose()` cancels and
        whose deadline ends the call wherever it is. A retry whose wait would end past
        it is not started (the last failure is raised instead).
        """
        # The first attempt runs without the retry machinery (most calls end here, and
        # building a tenacity loop costs more than a loopback round trip). A failure the
        # policy retries is replayed as attempt 1 of the usual loop, so waits, logs and
        # the attempt count are exactly those of a loop that ran it. (`_prepare` has
        # already refused a bad per-call `max_retries`, before anything was sent.)
        max_retries = options.get("max_retries")
        policy = self._retry_policy
        try:
            return await self._attempt(request, timeout, call_scope, trace, stream)
        except PulseError as exc:
            if (
                max_retries == 0
                or self._lifecycle.closed
                or not policy.should_retry(exc, request.method)
                or not request.resendable()
            ):
                raise
            replay: list[PulseError] = [exc]  # (popped when replayed: no cycle through it)
        retrying = policy.retrying(
            max_retries,
            what=f"{request.method} {request.path}",
            method=request.method,
            within=call_scope.deadline - anyio.current_time(),
            resendable=request.resendable,
        )
        async for attempt in retrying:
            with attempt:
                if replay:
                    raise replay.pop()
                return await self._attempt(request, timeout, call_scope, trace, stream)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(
        self,
        request: PreparedRequest,
        timeout: Timeout,
        call_scope: CallScope,
        trace: Trace,
        stream: bool,
    ) -> aiohttp.ClientResponse:
        """One attempt, through the rate-limit gate of the request's key and scope (its
        wait counts against the call's deadline), sent and reported to the hooks: every
        attempt of every call passes here."""
        gate = self._gate
        if gate is not None:
            try_acquire = self._try_acquire
            if try_acquire is None or not try_acquire(request.quota):
                call_scope.waiting_for_gate = True  # the call's deadline bounds the wait
                await gate.acquire(request.quota)
                call_scope.waiting_for_gate = False
        answered = False
        started = trace.attempt_started()
        try:
            response = await self._transport.send(request, timeout, stream=stream)
        except BaseException as exc:
            trace.attempt_ended(started, error=exc, error_type=call_scope.cause_of(exc))
            if isinstance(exc, RateLimitError):
                await self._rate_limited(request.quota, exc)
            else:
                answered = isinstance(exc, APIStatusError)
            raise
        else:
            answered = True
            trace.attempt_ended(started, response)
            return response
        finally:
            if gate is not None:
                release_now = self._release_now
                if release_now is not None:
                    release_now(request.quota, answered=answered)
                else:
                    await gate.release(request.quota, answered=answered)

    async def _rate_limited(self, quota: str, exc: RateLimitError) -> None:
        """Close the gate of `quota` after a 429 (or an in-stream rate-limit error);
        not for the plan's `rate_limit_error`, which no wait fixes."""
        if self._gate is not None and exc.code != "rate_limit_error":
            retry_after = DEFAULT_RETRY_AFTER if exc.retry_after is None else exc.retry_after
            await self._gate.refused(quota, min(retry_after, self._retry_policy.max_retry_after))

    def _decode(self, raw: bytes, type_: Any, status: int, what: str) -> Any:
        try:
            return decode(raw, type_)
        except (msgspec.DecodeError, RecursionError) as exc:
            failure = ResponseDecodeError(
                f"{what}: the {status} response does not decode as "
                f"{getattr(type_, '__name__', type_)}: {exc}",
                status=status,
                body=scrub(raw)[:2000],  # scrubbed whole first: no key cut in half
            )
        try:
            raise failure
        finally:
            del failure  # the traceback holds this frame: no cycle through it

    async def _read(
        self,
        response: aiohttp.ClientResponse,
        request: PreparedRequest,
        options: RequestOptions,
        timeout: Timeout,
        what: str,
    ) -> bytes:
        """The whole body, bounded by `max_response_size` (per call, else the client's)
        and each wait for its next chunk by `read`."""
        limit = options.get("max_response_size", self._max_response_size)
        try:
            body = arrived_body(response, limit)
            if body is None:
                body = await read_body(
                    response, limit, what, self._lifecycle.deadlines, timeout.read
                )
            return body
        except TRANSPORT_ERRORS as exc:
            failure = translate(exc, request)  # raised outside: no aiohttp __context__
        finally:
            release(response)
        try:
            raise failure
        finally:
            del failure  # the traceback holds this frame: no cycle through it

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
        """Send and decode into `cast_to` (None: accept any body, or none, and return None).
        Prepared (and refused, on bad input) at once; the exchange is what the caller
        awaits, one coroutine less on every resumption of the call."""
        request = self._prepare(
            method, path, json=json, params=params, form=form, scope=scope, options=options
        )
        return cast("Awaitable[T]", self._exchange(request, options, cast_to))

    async def _exchange(
        self,
        request: PreparedRequest,
        options: RequestOptions,
        type_: Any,
        *,
        empty_is_none: bool = False,
    ) -> Any:
        """Send, read and decode one call in its scope (`Lifecycle.call`), reported to
        the hooks (`type_` None: accept any body, or none, and give None)."""
        trace = self._trace(request)
        timeout = self._timeout_of(options)
        what = f"{request.method} {request.path}"
        try:
            with self._lifecycle.call(what, timeout.total) as call_scope:
                response = await self._send(request, options, timeout, call_scope, trace)
                raw = await self._read(response, request, options, timeout, what)
            if type_ is None or (empty_is_none and not raw.strip()):
                result = None
            else:
                result = self._decode(raw, type_, response.status, what)
        except BaseException as exc:
            trace.finish(error=exc)
            raise
        trace.finish(result)
        return result

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        type: type[T],
        json: Mapping[str, Any] | None = ...,
        params: Mapping[str, Any] | None = ...,
        scope: Scope = ...,
        **options: Any,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        type: None = ...,
        json: Mapping[str, Any] | None = ...,
        params: Mapping[str, Any] | None = ...,
        scope: Scope = ...,
        **options: Any,
    ) -> Any: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        type: Any = None,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        scope: Scope = "app",
        **options: Any,
    ) -> Any:
        """Call any endpoint with auth, signing, retries and typed errors.

        For endpoints documented only by name (Create Chat, the Tenant endpoints).
        `path` is relative to the base URL (`"/create-chat"`). The body is decoded into
        `type` (a msgspec Struct, dict, list, ...) or, without it, into plain builtins;
        an empty body gives None.
        """
        method = check_token("method", method).upper()
        if not isinstance(path, str) or not path.startswith("/"):
            raise PulseValidationError(f"path must start with '/', got {path!r}")
        if any(char.isspace() or not char.isprintable() for char in path):
            raise PulseValidationError(
                f"path must not contain spaces or control characters, got {path!r}"
            )
        if scope not in ("app", "knowledge"):
            raise PulseValidationError(f"scope must be 'app' or 'knowledge', got {scope!r}")
        checked = cast(RequestOptions, options)  # checked by `_prepare`, like every call's
        request = self._prepare(
            method, path, json=json, params=params, scope=scope, options=checked
        )
        return await self._exchange(
            request, checked, Any if type is None else type, empty_is_none=True
        )
