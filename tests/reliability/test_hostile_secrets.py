"""A server that echoes the API key back through every channel it controls: the key
must reach no exception (str, repr, args, attributes, chain, traceback, pickle), no log
record and no repr of what the SDK holds, while what the server said stays readable."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import FAST_RETRIES, Serve

pytestmark = pytest.mark.anyio

KEY = "app-SECRET-abc123"
AUTH = f"Bearer {KEY}"


def texts_of(exc: BaseException) -> list[str]:
    """Everything an exception can show, down its whole chain (cause and context)."""
    copy = pickle.loads(pickle.dumps(exc))  # what a Celery or multiprocessing peer gets
    assert str(copy) == str(exc) and type(copy) is type(exc)
    texts = ["".join(traceback.format_exception(exc)), repr(pickle.dumps(exc))]
    texts += [str(copy), repr(copy), repr(copy.args), repr(vars(copy))]
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        texts += [str(item), repr(item), repr(item.args), repr(vars(item))]
        request_info = getattr(item, "request_info", None)  # aiohttp's, with headers
        if request_info is not None:
            texts.append(repr(request_info))
        pending += [item.__cause__, item.__context__]
    return texts


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
    return [formatter.format(r) for r in caplog.records] + [
        repr(r.__dict__) for r in caplog.records
    ]


def leaked(texts: list[str]) -> list[str]:
    return [text for text in texts if KEY in text]


# --- the echoing servers ----------------------------------------------------------------


def echo_app() -> web.Application:
    """Well-formed HTTP that puts the request's Authorization wherever the server
    decides: the error code and message, the request id, in-stream events."""

    async def error_code(request: web.Request) -> web.Response:  # retried, then raised
        auth = request.headers["Authorization"]
        return web.json_response(
            {"code": f"invalid_token:{auth}", "message": f"try later, {auth}", "status": 503},
            status=503,
            headers={"X-Request-Id": auth},
        )

    async def request_id(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": "not_found", "message": "no such app", "status": 404},
            status=404,
            headers={"X-Request-Id": request.headers["Authorization"]},
        )

    async def undecodable(request: web.Request) -> web.Response:
        return web.Response(
            text=f'{{"name": {request.headers["Authorization"]!r}',
            content_type="application/json",
            headers={"X-Request-Id": request.headers["Authorization"]},
        )

    async def stream(request: web.Request) -> web.StreamResponse:
        auth = request.headers["Authorization"]
        body = await request.json()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Request-Id": auth}
        )
        await response.prepare(request)
        task = '"task_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"'
        await response.write(f'data: {{"event": "message", {task}, "answer": "hi "}}\n\n'.encode())
        kind = body["query"]
        if kind == "error event":
            frame = (
                f'data: {{"event": "error", "status": 400, "code": "{auth}", "message": "{auth}"}}'
            )
        elif kind == "event name":
            frame = (
                f'event: {auth}\ndata: {{"event": "message", {task}, "answer": 7, "x": "{auth}"}}'
            )
        else:  # data that is not JSON, quoting the key
            frame = f"data: {{{auth}"
        await response.write(frame.encode() + b"\n\n")
        return response

    app = web.Application()
    app.router.add_get("/v1/info", error_code)
    app.router.add_get("/v1/parameters", request_id)
    app.router.add_get("/v1/meta", undecodable)
    app.router.add_post("/v1/chat-messages", stream)
    return app


RawAnswer = Callable[[bytes], bytes | list[bytes]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[RawAnswer], Awaitable[str]]]:
    """A raw asyncio server that answers each request with the bytes `answer(head)`
    returns (given the request head, Authorization included): malformed HTTP that
    aiohttp's parser rejects and quotes. A list of byte strings is sent part by part."""
    servers: list[asyncio.Server] = []

    async def start(answer: RawAnswer) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                parts = answer(head)
                for part in [parts] if isinstance(parts, bytes) else parts:
                    writer.write(part)
                    await writer.drain()
                    await asyncio.sleep(0.05)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def auth_of(head: bytes) -> bytes:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"authorization:"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError("the request carried no Authorization header")


RAW_ANSWERS: dict[str, RawAnswer] = {
    # aiohttp quotes the raw line in its parser message
    "header line too long": lambda head: (
        b"HTTP/1.1 200 OK\r\nX-Echo: " + auth_of(head) + b"x" * 9000 + b"\r\n\r\n"
    ),
    "bad status line": lambda head: b"HTTP/1.1 2x0 " + auth_of(head) + b"\r\n\r\n",
    "bad content length": lambda head: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 1" + auth_of(head) + b"\r\n\r\n"
    ),
    "JSON instead of a status line": lambda head: b'{"echo": "' + auth_of(head) + b'"}\r\n\r\n',
    # no echo at all: the malformed answer alone once made aiohttp's ClientResponseError,
    # with the request headers in its request_info, the exception's cause
    "garbage without echo": lambda head: b"NOT HTTP AT ALL\r\n\r\n",
}


# --- the tests ------------------------------------------------------------------------------


async def test_key_echoed_in_error_fields_reaches_no_exception_or_log(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: the SDK, aiohttp, asyncio
    url = await serve(echo_app())
    errors: list[pa.PulseError] = []
    with anyio.fail_after(20):
        async with pa.AsyncPulse(KEY, base_url=url, retry_policy=FAST_RETRIES) as pulse:
            for call in (pulse.app.info, pulse.app.parameters, pulse.app.meta):
                with pytest.raises(pa.PulseError) as caught:
                    await call()
                errors.append(caught.value)
    code, request_id, undecodable = errors
    assert isinstance(code, pa.ServiceUnavailableError)
    assert (
        str(code) == "[503 invalid_token:Bearer ***] try later, Bearer *** (request id Bearer ***)"
    )
    assert code.body == {
        "code": "invalid_token:Bearer ***",
        "message": "try later, Bearer ***",
        "status": 503,
    }
    assert isinstance(request_id, pa.NotFoundError) and request_id.request_id == "Bearer ***"
    assert isinstance(undecodable, pa.ResponseDecodeError)
    assert b"Bearer ***" in undecodable.body
    texts = [text for exc in errors for text in texts_of(exc)] + log_texts(caplog)
    assert not leaked(texts)
    messages = [r.getMessage() for r in caplog.records]
    assert "retrying GET /info (attempt 2 of 3) after 503 invalid_token:Bearer ***" in " ".join(
        messages
    )
    assert any("(request id Bearer ***)" in m for m in messages)  # the DEBUG line


@pytest.mark.parametrize("kind", ["error event", "event name", "data not JSON"])
async def test_key_echoed_in_a_stream_reaches_no_exception_log_or_stream_state(
    serve: Serve, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    url = await serve(echo_app())
    expected = pa.BadRequestError if kind == "error event" else pa.ResponseDecodeError
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url) as pulse:
            stream = pulse.chat.stream(kind, user="u")
            held = [repr(vars(stream)), repr(stream)]  # the request it will send
            async with stream:
                with pytest.raises(expected) as caught:
                    await stream.until_done()
                held += [repr(vars(stream)), repr(stream), str(stream.request_id)]
    assert stream.request_id == "Bearer ***"
    assert caught.value.partial_text == "hi "
    assert not leaked(texts_of(caught.value) + log_texts(caplog) + held)


@pytest.mark.parametrize("case", list(RAW_ANSWERS))
async def test_aiohttp_parser_errors_carry_neither_key_nor_request_headers(
    raw_server: Callable[[RawAnswer], Awaitable[str]],
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = await raw_server(RAW_ANSWERS[case])
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, max_retries=0) as pulse:
            with pytest.raises(pa.APIConnectionError) as blocking:
                await pulse.app.info()
            with pytest.raises(pa.APIConnectionError) as streamed:
                await pulse.chat.stream("hi", user="u").final_text()
    for exc in (blocking.value, streamed.value):
        assert exc.__cause__ is None and exc.__context__ is None  # no aiohttp error kept
        assert "ClientResponseError" in str(exc) or "ServerDisconnected" in str(exc)
    assert not leaked(texts_of(blocking.value) + texts_of(streamed.value) + log_texts(caplog))


async def test_a_key_cut_short_by_a_truncated_quote_is_masked_too(
    raw_server: Callable[[RawAnswer], Awaitable[str]],
) -> None:
    # aiohttp quotes only the first ~100 bytes of a too-long header: put the key where
    # the cut falls, so only its first part shows
    def answer(head: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nX-Echo: " + b"p" * 84 + auth_of(head) + b"x" * 9000 + b"\r\n\r\n"
        )

    async with pa.AsyncPulse(KEY, base_url=await raw_server(answer), max_retries=0) as pulse:
        with pytest.raises(pa.APIConnectionError) as caught:
            await pulse.app.info()
    message = str(caught.value)
    assert "Bearer ***" in message and KEY[:8] not in message


async def test_what_the_sdk_holds_shows_no_key(serve: Serve) -> None:
    # no echo: the request the SDK builds holds the header; its repr masks it
    async with pa.AsyncPulse(KEY, base_url=await serve(echo_app())) as pulse:
        request = pulse._prepare("GET", "/info", options={})
        stream = pulse.chat.stream("hi", user="u")
        texts = [repr(request), str(request), repr(vars(stream)), repr(pulse), repr(pulse.chat)]
        await stream.aclose()
    assert request.headers["Authorization"] == AUTH  # still sent as it must be
    assert "'Authorization': '***'" in repr(request)
    assert not leaked(texts)


def test_errors_built_anywhere_are_scrubbed_and_pickle_clean() -> None:
    pa.AsyncPulse(KEY, base_url="http://127.0.0.1:9/v1")  # a client registers its key
    errors: list[pa.PulseError] = [
        pa.PulseError(f"said {AUTH}"),
        pa.APIConnectionError(f"x {KEY}"),
        pa.InternalServerError(AUTH, status=500, code=KEY, request_id=KEY, body={KEY: [KEY]}),
        pa.ResponseDecodeError(AUTH, body=AUTH.encode()),
        pa.IndexingFailedError(AUTH, document_id="d", error=AUTH),
        pa.IndexingTimeoutError(AUTH, last=AUTH),  # an OSError: args are set differently
        pa.StreamInterruptedError(AUTH, partial_text=AUTH),
    ]
    for exc in errors:
        exc.partial_text = AUTH  # attributes set later are scrubbed too
        assert not leaked(texts_of(exc)), type(exc).__name__
        assert exc.partial_text == "Bearer ***"


def test_every_sdk_logger_scrubs_its_records() -> None:
    # A logger filter is not inherited by child loggers: every logger the client logs
    # to must carry the scrubbing filter itself. (`pulseai_async.testing` is the
    # emulator's, a server's, which masks keys in its own recordings.)
    import pulseai_async._secrets as secrets

    names = [
        name
        for name in logging.Logger.manager.loggerDict
        if name == "pulseai_async"
        or (name.startswith("pulseai_async.") and not name.startswith("pulseai_async.testing"))
    ]
    assert "pulseai_async" in names
    for name in names:
        filters = logging.getLogger(name).filters
        assert any(isinstance(f, secrets._ScrubFilter) for f in filters), name


async def test_a_stream_cut_mid_chunk_carries_no_key_or_aiohttp_error(
    raw_server: Callable[[RawAnswer], Awaitable[str]], caplog: pytest.LogCaptureFixture
) -> None:
    # The response starts well, then the connection drops inside a chunk that quotes
    # the key: aiohttp's payload error ends the stream mid-way.
    def answer(head: bytes) -> list[bytes]:
        event = b'data: {"event": "message", "task_id": "t", "answer": "hi "}\n\n'
        start = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        first = start + f"{len(event):x}\r\n".encode() + event + b"\r\n"
        return [first, b'400\r\ndata: {"echo": "' + auth_of(head)]

    caplog.set_level(logging.DEBUG)
    async with pa.AsyncPulse(KEY, base_url=await raw_server(answer), max_retries=0) as pulse:
        stream = pulse.chat.stream("hi", user="u")
        with pytest.raises(pa.StreamInterruptedError, match="mid-stream") as caught:
            await stream.final_text()
    assert caught.value.partial_text == "hi "
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert not leaked(texts_of(caught.value) + log_texts(caplog) + [repr(vars(stream))])
