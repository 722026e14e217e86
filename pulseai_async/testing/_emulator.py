"""The PulseAI emulator: an aiohttp.web app speaking the platform's wire format.

Run it in-process (`async with Emulator() as emu:`) on a free loopback port, or as a
process (`python -m pulseai_async.testing --port 8080`). It keeps conversations in
memory, checks auth, answers with the documented error bodies, and follows fault plans.
Its defaults are calibrated to Dify 1.9.1's own API server (docs/emulator.md).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from aiohttp import web

from . import (
    _app_routes,
    _audio_routes,
    _chat_routes,
    _conversation_routes,
    _file_routes,
    _knowledge_routes,
    _message_routes,
)
from ._chatflow import ECHO, FAILING, SLOW, Chatflow
from ._faults import Fault, FaultPlan, hang_up
from ._file_routes import UPLOAD_EXTENSIONS
from ._knowledge_state import KnowledgeState
from ._refusal import Refusal
from ._routes import NOT_FOUND
from ._state import State, new_id
from ._view import DeleteStyle
from ._wire import JsonStyle, error_response

if TYPE_CHECKING:
    from .._client import AsyncPulse

__all__ = ["AnswerFunction", "AppMode", "Emulator", "RecordedRequest"]

AnswerFunction = Callable[[str], str]
"""Maps the user's query to the full answer text the emulator streams back."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AppMode = Literal["advanced-chat", "chat"]
"""A chatflow app (Dify's `advanced-chat`, the default) or a plain chat app."""

DEFAULT_APP_KEY = "app-emulator-key"
DEFAULT_KNOWLEDGE_KEY = "dataset-emulator-key"
DEFAULT_SLOW_APP_KEY = "app-emulator-slow"
DEFAULT_FAIL_APP_KEY = "app-emulator-fail"
_ROUTE_VARIABLE = re.compile(r"\{.*\}")  # flask-restx strips `<...>` the same greedy way
_log = logging.getLogger(__name__)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-signature"})
_ROUTE_MODULES = (  # each registers its routes with `setup(app, emulator)`
    _chat_routes,
    _conversation_routes,
    _file_routes,
    _message_routes,
    _audio_routes,
    _app_routes,
    _knowledge_routes,
)
_BACKLOG = 2048  # a thousand clients connecting at once must not wait for SYN retries


def _bearer_token(request: web.Request) -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def default_answer(query: str) -> str:
    return (
        f"You asked: {query.strip()} This is the PulseAI emulator, answering token by token "
        "so that streaming, usage and conversations can be tried without a real model."
    )


class RecordedRequest(msgspec.Struct, kw_only=True):
    """What one request to the emulator was, without its credentials.

    `headers` leaves out `Authorization`, `Cookie` and `X-Signature`, and any copy of
    the emulator's keys (8 characters or more) elsewhere, in another header, the query
    or the body, reads `***`.
    `body` is the raw body (empty for multipart uploads and with `record_bodies=False`).
    """

    method: str
    path: str
    """The path after `/v1`, as the SDK's resources name it: `/chat-messages`."""
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time: float
    """`time.monotonic()` when the request arrived (for asserting on back-off)."""

    def json(self) -> Any:
        """The body decoded as JSON (None when empty)."""
        return msgspec.json.decode(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class Emulator:
    """A local PulseAI server over real HTTP, for tests, demos and benchmarks.

    `async with Emulator() as emulator:` starts it on a free loopback port
    (`emulator.base_url`); `emulator.client()` gives an `AsyncPulse` bound to it. Every
    option below is a plain attribute that can be changed between requests:

    - `answer`: the text every chat answers with, or a function of the query
      (`AnswerFunction`); None gives a default answer that echoes the query.
    - `token_delay` (or `tokens_per_second`): the pace of streamed tokens.
    - `app_mode`: "advanced-chat" (a chatflow: workflow and node events around the
      answer, as Dify 1.9.1 streams them) or "chat" (a plain chat app: `message`
      events, then `message_end`). Two more chatflow apps answer to their own keys:
      `slow_app_key` (an HTTP node sleeps `query` seconds) and `fail_app_key` (an HTTP
      node fails the run), like the apps the live contract suite uses.
    - Server variants: `json_style` ("dify": the encodings Dify 1.9.1 mixes; "compact"
      UTF-8; or "ascii"-escaped with spaces), `ping_interval` (an `event: ping` every
      so many seconds of a stream, 10 by default; None: never), `ping_first` (a ping
      opens each stream, as no Dify 1.9.1 does), `delete_style` (204 empty, 200
      `{"result": "success"}`, or "dify": 204 for conversations, 200 `204` for the
      Knowledge API), `event_ids` (an `id:` line before each event),
      `request_ids` (an `X-Request-Id` header on every answer, which Dify 1.9.1 does
      not send), `server_version` (`Server: gunicorn` and `X-Version`, as Dify sends;
      None: aiohttp's own `Server` header).
    - `faults`: a `FaultPlan` of scripted misbehaviour (see `Fault`).
    - `requests`: every request received, as `RecordedRequest`s, in order.
    - `state`: the in-memory conversations and messages.

    App API options: `upload_limit` and `audio_upload_limit` (bytes; over them File Upload
    and Speech to Text answer 413), `upload_extensions` (others get 415),
    `suggested_questions_after_answer` (off: Next Suggested Questions answers 400
    "Suggested Questions Is Disabled."), `speech_to_text_supported` (off: 400
    `provider_not_support_speech_to_text`).
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_APP_KEY,
        knowledge_api_key: str = DEFAULT_KNOWLEDGE_KEY,
        answer: str | AnswerFunction | None = None,
        token_delay: float = 0.0,
        app_mode: AppMode = "advanced-chat",
        json_style: JsonStyle = "dify",
        ping_interval: float | None = 10.0,
        ping_first: bool = False,
        delete_style: DeleteStyle = "dify",
        event_ids: bool = False,
        request_ids: bool = False,
        server_version: str | None = "1.9.1",
        slow_app_key: str = DEFAULT_SLOW_APP_KEY,
        fail_app_key: str = DEFAULT_FAIL_APP_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        record_bodies: bool = True,
        upload_limit: int = 15 * 1024 * 1024,
        audio_upload_limit: int = 30 * 1024 * 1024,
        suggested_questions_after_answer: bool = True,
        speech_to_text_supported: bool = True,
        indexing_delay: float = 0.02,
        knowledge_legacy: bool = False,
        knowledge_max_file_size: int = 15 * 1024 * 1024,
    ) -> None:
        self.api_key = api_key
        self.knowledge_api_key = knowledge_api_key
        self.answer = answer
        self.token_delay = token_delay
        self.app_mode: AppMode = app_mode
        self.json_style: JsonStyle = json_style
        self.ping_interval = ping_interval
        self.ping_first = ping_first
        self.delete_style: DeleteStyle = delete_style
        self.event_ids = event_ids
        self.request_ids = request_ids
        self.server_version = server_version
        self.chatflow: Chatflow = ECHO
        """The graph the main app runs in "advanced-chat" mode."""
        self.chatflows: dict[str, Chatflow] = {slow_app_key: SLOW, fail_app_key: FAILING}
        """More chatflow apps, by app key."""
        self.app_id = new_id()
        self.workflow_id = new_id()
        self.host = host
        self.port = port
        self.record_bodies = record_bodies
        # App API: upload limits in bytes, accepted extensions, feature switches.
        self.upload_limit = upload_limit
        self.audio_upload_limit = audio_upload_limit
        self.upload_extensions: frozenset[str] = UPLOAD_EXTENSIONS
        self.suggested_questions_after_answer = suggested_questions_after_answer
        self.speech_to_text_supported = speech_to_text_supported
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.state = State()
        # Knowledge API: seconds per indexing step (0: instant), old-server behaviour
        # (underscore paths only, the `has_more` bug), and the upload size limit.
        self.indexing_delay = indexing_delay
        self.knowledge_legacy = knowledge_legacy
        self.knowledge_max_file_size = knowledge_max_file_size
        self.knowledge = KnowledgeState()
        self._runner: web.AppRunner | None = None

    # --- behaviour ------------------------------------------------------------------

    @property
    def tokens_per_second(self) -> float | None:
        """The streaming pace as a rate (None: as fast as possible)."""
        return 1 / self.token_delay if self.token_delay > 0 else None

    @tokens_per_second.setter
    def tokens_per_second(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("tokens_per_second must be positive (or None for no limit)")
        self.token_delay = 1 / rate if rate else 0.0

    def answer_for(self, query: str) -> str:
        """The full answer to `query`, per `answer`."""
        if self.answer is None:
            return default_answer(query)
        if isinstance(self.answer, str):
            return self.answer
        return self.answer(query)

    def hits(self, path: str, method: str | None = None) -> int:
        """How many requests reached `path` (after `/v1`), optionally with `method`."""
        return len(self.requests_to(path, method))

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests to `path` (after `/v1`), optionally with `method`."""
        wanted = method.upper() if method else None
        return [
            r for r in self.requests if r.path == path and (wanted is None or r.method == wanted)
        ]

    def reset(self) -> None:
        """Forget requests, faults and data, as if freshly started (options stay)."""
        self.requests.clear()
        self.faults.clear()
        self.state = State()
        self.knowledge = KnowledgeState()

    def chatflow_of(self, request: web.Request) -> Chatflow | None:
        """For route modules: the graph of the app the request's key belongs to (None
        for a plain chat app)."""
        token = _bearer_token(request)
        if token in self.chatflows:
            return self.chatflows[token]
        return self.chatflow if self.app_mode == "advanced-chat" else None

    def take_stream_fault(self, request: web.Request) -> Fault | None:
        """For route modules: the stream fault for a streamed answer about to start.

        Stream faults are taken here, not on arrival, so blocking calls to the same
        path do not use them up.
        """
        path = request.path.removeprefix("/v1") or "/"
        return self.faults.take(request.method, path, stream=True)

    # --- the app --------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application: the middleware, then each route module's routes."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        for module in _ROUTE_MODULES:
            module.setup(app, self)
        app.on_response_prepare.append(self._add_headers)
        return app

    async def _add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """The headers every answer carries (streamed ones too), as the server sends."""
        if self.server_version is not None:
            response.headers["Server"] = "gunicorn"
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["X-Version"] = self.server_version
            response.headers["X-Env"] = "PRODUCTION"
        if self.request_ids:
            response.headers.setdefault("X-Request-Id", new_id())

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/v1") or "/"
        recordable = request.can_read_body and not request.content_type.startswith("multipart/")
        body = await request.read() if self.record_bodies and recordable else b""
        self.requests.append(self._record(request, path, body))
        return await self._respond(request, handler, path)

    def _record(self, request: web.Request, path: str, body: bytes) -> RecordedRequest:
        # A toy key ("k") would be found everywhere: mask only key-like strings.
        secrets = [key for key in (self.api_key, self.knowledge_api_key) if len(key) >= 8]

        def scrub(text: str) -> str:
            for key in secrets:
                text = text.replace(key, "***")
            return text

        for key in secrets:
            body = body.replace(key.encode(), b"***")
        return RecordedRequest(
            method=request.method,
            path=path,
            query={k: scrub(v) for k, v in request.query.items()},
            headers={
                k: scrub(v) for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS
            },
            body=body,
            time=time.monotonic(),
        )

    async def _respond(
        self, request: web.Request, handler: Handler, path: str
    ) -> web.StreamResponse:
        try:
            if not request.path.startswith("/v1/"):
                raise Refusal(404, "not_found", NOT_FOUND)
            self._check_auth(request, path)
            fault = self.faults.take(request.method, path)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.disconnect:
                    return await hang_up(request)
                if fault.status is not None:
                    return self._fault_response(fault)
            return await handler(request)
        except Refusal as refused:
            message = refused.message
            if refused.status == 404 and message and request.match_info.route.resource:
                message = self._help_on_404(request, message)
            return error_response(
                refused.status,
                refused.code,
                message,
                style=self.json_style,
                headers=refused.headers,
            )
        except web.HTTPException as exc:  # the router's 404 and 405, aiohttp's 413, ...
            message = NOT_FOUND if exc.status == 404 else None
            return error_response(exc.status, message=message, style=self.json_style)
        except Exception:  # a bug here must still look like the platform, not aiohttp
            _log.exception("the emulator failed on %s %s", request.method, path)
            return error_response(500, "unknown", "Internal Server Error", style=self.json_style)

    @staticmethod
    def _help_on_404(request: web.Request, message: str) -> str:
        """flask-restx's 404 help: the routes whose paths look like the one requested."""
        rules = {}
        for resource in request.app.router.resources():
            rule = resource.canonical
            rules[_ROUTE_VARIABLE.sub("", rule)] = re.sub(r"\{(\w+)\}", r"<\1>", rule)
        close = difflib.get_close_matches(request.path, list(rules))
        if not close:
            return message
        suggestions = " or ".join(rules[match] for match in close)
        return (
            f"{message.rstrip('.')}. You have requested this URI [{request.path}] but did "
            f"you mean {suggestions} ?"
        )

    def _fault_response(self, fault: Fault) -> web.Response:
        assert fault.status is not None
        headers = dict(fault.headers)
        retry_after = fault.retry_after_header
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if fault.body is not None:
            return web.Response(status=fault.status, body=fault.body, headers=headers)
        return error_response(
            fault.status, fault.code, fault.message, style=self.json_style, headers=headers
        )

    def _check_auth(self, request: web.Request, path: str) -> None:
        """Each API has its own key: `/datasets` takes the knowledge key, the rest the
        app's (the main app's, or another chatflow's)."""
        header = request.headers.get("Authorization", "")
        scheme, space, token = header.partition(" ")
        if not space:
            message = "Authorization header must be provided and start with 'Bearer'"
        elif scheme.lower() != "bearer":
            message = "Authorization scheme must be 'Bearer'"
        else:
            token = token.strip()
            if path.startswith("/datasets"):
                if token == self.knowledge_api_key:
                    return
            elif token == self.api_key or token in self.chatflows:
                return
            message = "Access token is invalid"
        challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
        raise Refusal(401, "unauthorized", message, headers=challenge)

    # --- running --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/v1`, what `AsyncPulse(base_url=...)` takes."""
        if self._runner is None:
            raise RuntimeError("the emulator is not running: use `async with Emulator()` first")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> Emulator:
        """Start serving (port 0 picks a free port, then `port` holds the real one)."""
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=_BACKLOG)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving and close open connections (safe to call twice)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def client(self, **kwargs: Any) -> AsyncPulse:
        """An `AsyncPulse` bound to this emulator (keyword arguments pass through)."""
        from .._client import AsyncPulse

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("knowledge_api_key", self.knowledge_api_key)
        return AsyncPulse(base_url=self.base_url, **kwargs)

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._runner else "stopped"
        return f"<Emulator {where} requests={len(self.requests)} faults={len(self.faults)}>"
