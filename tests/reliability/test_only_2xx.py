"""Only 2xx is success: a redirect is a typed error naming its target (and the key never
goes to the other host), and a stream checks that it got the media type it asked for
(a captive portal's HTML page is not an empty answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import Serve, checked_out

pytestmark = pytest.mark.anyio

KEY = "app-redirect-test-key-0123"
ID = "6bd6ba3e-4b5d-4c5a-9a4e-5d1ef5a1b2c3"

Call = Callable[[pa.AsyncPulse], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "conversations.delete": lambda p: p.conversations.delete(ID, user="u"),
    "messages.feedback": lambda p: p.messages.feedback(ID, "like", user="u"),
    "chat.stop": lambda p: p.chat.stop(ID, user="u"),
    "chat.send": lambda p: p.chat.send("hi", user="u"),
    "chat.stream": lambda p: p.chat.stream("hi", user="u").final_text(),
    "text_to_audio": lambda p: p.audio.text_to_audio("hi", user="u").read(),
}


class Elsewhere:
    """The host a redirect points to: it records who came, with which headers."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        return web.json_response({"result": "success", "answer": "from elsewhere"})


async def redirecting(serve: Serve, status: int, location: str) -> str:
    async def redirect(request: web.Request) -> web.Response:
        return web.json_response(
            {"result": "success", "answer": "a JSON body on a redirect"},
            status=status,
            headers={"Location": location},
        )

    app = web.Application()
    app.router.add_route("*", "/v1/{tail:.*}", redirect)
    return await serve(app)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", list(CALLS))
async def test_a_redirect_is_an_error_naming_its_target_and_is_not_followed(
    serve: Serve, status: int, call: str
) -> None:
    elsewhere = Elsewhere()
    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", elsewhere.handle)
    other_url = (await serve(other)).removesuffix("/v1")
    url = await redirecting(serve, status, f"{other_url}/v1/moved?token=s3cret&key={KEY}")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, max_retries=2) as pulse:
            with pytest.raises(pa.RedirectError) as caught:
                await CALLS[call](pulse)
            assert checked_out(pulse) == 0
    error = caught.value
    assert isinstance(error, pa.APIStatusError) and error.status == status
    assert error.location == f"{other_url}/v1/moved"  # without the query string
    assert f"redirected to {other_url}/v1/moved" in str(error)
    assert "s3cret" not in str(error) and KEY not in repr(error)
    assert elsewhere.authorizations == []  # nobody went to the other host, key or not


async def test_a_relative_redirect_is_named_on_the_same_host(serve: Serve) -> None:
    url = await redirecting(serve, 307, "/v2/chat-messages?sig=abc")
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        with pytest.raises(pa.RedirectError) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.location == url.removesuffix("/v1") + "/v2/chat-messages"


async def test_a_redirect_without_location_says_so(serve: Serve) -> None:
    async def bare(request: web.Request) -> web.Response:
        return web.Response(status=302)

    app = web.Application()
    app.router.add_post("/v1/chat-messages", bare)
    async with pa.AsyncPulse(KEY, base_url=await serve(app)) as pulse:
        with pytest.raises(pa.RedirectError, match="no Location header") as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.location is None


@pytest.mark.parametrize("status", [304, 305, 399])
async def test_other_non_2xx_statuses_below_400_are_errors_too(serve: Serve, status: int) -> None:
    async def odd(request: web.Request) -> web.Response:
        return web.Response(status=status, text='{"result": "success"}')

    app = web.Application()
    app.router.add_route("*", "/v1/{tail:.*}", odd)
    async with pa.AsyncPulse(KEY, base_url=await serve(app), max_retries=0) as pulse:
        with anyio.fail_after(10), pytest.raises(pa.APIStatusError) as caught:
            await pulse.conversations.delete(ID, user="u")
    assert caught.value.status == status


# --- streams get the media type they asked for ------------------------------------------


async def answering(serve: Serve, status: int, content_type: str, body: bytes) -> str:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_post("/v1/{tail:.*}", answer)
    return await serve(app)


PORTAL = b"<html><title>Hotel Wi-Fi</title><body>Please log in" + b" " * 100_000 + b"</html>"


@pytest.mark.parametrize(
    ("content_type", "body", "shown"),
    [
        ("text/html; charset=utf-8", PORTAL, "<html><title>Hotel Wi-Fi"),
        ("application/json", b'{"answer": "a blocking answer"}', '{"answer": "a blocking'),
        ("text/plain", b"", "''"),
    ],
)
async def test_a_chat_stream_answered_with_another_type_says_what_came(
    serve: Serve, content_type: str, body: bytes, shown: str
) -> None:
    url = await answering(serve, 200, content_type, body)
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url) as pulse:
            with pytest.raises(pa.UnexpectedContentTypeError) as caught:
                async with pulse.chat.stream("hi", user="u") as stream:
                    await stream.final_text()
            assert checked_out(pulse) == 0
    error = caught.value
    assert isinstance(error, pa.ResponseDecodeError)
    assert error.status == 200 and error.content_type == content_type.split(";")[0]
    message = str(error)
    assert "expected text/event-stream" in message and f"200 {error.content_type}" in message
    assert shown in message and len(message) < 500  # the start of the body, not all of it
    assert error.body == body[:2000]


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [("audio/mpeg", True), ("audio/wav", True), ("text/html", False), ("text/event-stream", False)],
)
async def test_text_to_audio_checks_it_got_audio(serve: Serve, content_type: str, ok: bool) -> None:
    url = await answering(serve, 200, content_type, b"RIFF....WAVE" * 10)
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        audio = pulse.audio.text_to_audio("hi", user="u")
        if ok:
            assert await audio.read() == b"RIFF....WAVE" * 10
            assert audio.content_type == content_type
        else:
            with pytest.raises(
                pa.UnexpectedContentTypeError, match=f"expected audio/\\*, got 200 {content_type}"
            ):
                await audio.read()
        assert checked_out(pulse) == 0


@pytest.mark.parametrize("accept", ["*/*", "application/json, text/event-stream;q=0.9"])
async def test_an_accept_header_of_the_callers_own_is_honoured(serve: Serve, accept: str) -> None:
    body = b'data: {"event": "message", "answer": "hi", "task_id": "t"}\n\n'
    body += b'data: {"event": "message_end", "task_id": "t"}\n\n'
    url = await answering(serve, 200, "text/event-stream", body)
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        stream = pulse.chat.stream("hi", user="u", extra_headers={"Accept": accept})
        assert await stream.final_text() == "hi"
