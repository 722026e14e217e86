"""The PulseAI emulator: an aiohttp.web app speaking the platform's wire format.

Run it in-process (`async with Emulator() as emu:`) on a free loopback port, or as a
process (`python -m pulseai_async.testing --port 8080`). It keeps conversations in
memory, checks auth, answers with the documented error bodies, and follows fault plans.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from aiohttp import web

from ._faults import FAULT_KEY, Fault, FaultPlan
from ._file_routes import UPLOAD_EXTENSIONS
from ._knowledge_state import KnowledgeState
from ._state import State
from ._wire import JsonStyle, error_response

if TYPE_CHECKING:
    from .._client import AsyncPulse

__all__ = ["AnswerFunction", "Emulator", "RecordedRequest"]

AnswerFunction = Callable[[str], str]
"""Maps the user's query to the full answer text the emulator streams back."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_APP_KEY = "app-emulator-key"
DEFAULT_KNOWLEDGE_KEY = "dataset-emulator-key"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-signature"})


def default_answer(query: str) -> str:
    return (
        f"You asked: {query.strip()} This is the PulseAI emulator, answering token by token "
        "so that streaming, usage and conversations can be tried without a real model."
    )


class RecordedRequest(msgspec.Struct, kw_only=True):
    """What one request to the emulator was, without its credentials."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time: float

    def json(self) -> Any:
        return msgspec.json.decode(self.body) if self.body else None


class Emulator:
    """A local PulseAI server. All options can be changed between requests.

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
        json_style: JsonStyle = "compact",
        ping_first: bool = True,
        delete_style: Literal[200, 204] = 204,
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
        self.json_style: JsonStyle = json_style
        self.ping_first = ping_first
        self.delete_style = delete_style
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

    def answer_for(self, query: str) -> str:
        if self.answer is None:
            return default_answer(query)
        if isinstance(self.answer, str):
            return self.answer
        return self.answer(query)

    def hits(self, path: str, method: str | None = None) -> int:
        """How many requests reached `path` (optionally with `method`)."""
        return sum(
            1
            for r in self.requests
            if r.path == path and (method is None or r.method == method.upper())
        )

    # --- the app --------------------------------------------------------------------

    def make_app(self) -> web.Application:
        from . import (
            _app_routes,
            _audio_routes,
            _chat_routes,
            _conversation_routes,
            _file_routes,
            _knowledge_routes,
            _message_routes,
        )

        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        for module in (
            _chat_routes,
            _conversation_routes,
            _file_routes,
            _message_routes,
            _audio_routes,
            _app_routes,
            _knowledge_routes,
        ):
            module.setup(app, self)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/v1") or "/"
        recordable = request.can_read_body and not request.content_type.startswith("multipart/")
        body = await request.read() if self.record_bodies and recordable else b""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=path,
                query=dict(request.query),
                headers={
                    k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS
                },
                body=body,
                time=time.monotonic(),
            )
        )
        request_id = str(uuid.uuid4())
        response = await self._respond(request, handler, path)
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        return response

    async def _respond(
        self, request: web.Request, handler: Handler, path: str
    ) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return error_response(
                404, "not_found", "The requested URL was not found on the server."
            )
        denied = self._check_auth(request, path)
        if denied is not None:
            return denied
        fault = self.faults.take(request.method, path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return self._fault_response(fault)
            if fault.is_stream_fault:
                request[FAULT_KEY] = fault
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                return error_response(exc.status, style=self.json_style)
            raise

    def _fault_response(self, fault: Fault) -> web.Response:
        assert fault.status is not None
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.body is not None:
            return web.Response(status=fault.status, body=fault.body, headers=headers)
        return error_response(
            fault.status, fault.code, fault.message, style=self.json_style, headers=headers
        )

    def _check_auth(self, request: web.Request, path: str) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if " " not in header:
            message = "Authorization header must be provided and start with 'Bearer'"
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                message = "Authorization scheme must be 'Bearer'"
            else:
                knowledge = path.startswith("/datasets")
                wanted = self.knowledge_api_key if knowledge else self.api_key
                if token.strip() == wanted:
                    return None
                message = "Access token is invalid"
        return error_response(
            401,
            "unauthorized",
            message,
            style=self.json_style,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )

    # --- running --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the emulator is not running: use `async with Emulator()` first")
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> Emulator:
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
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


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))
