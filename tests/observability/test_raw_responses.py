"""`pulse.with_raw_response`: every method's HTTP response with its typed result, and a
stream's status and headers once open."""

from __future__ import annotations

import pickle

import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import FAST_RETRIES, Serve

# Dify 1.9.1 sends no request id; PulseAI-style servers (and the emulator so set) do
pytestmark = [pytest.mark.anyio, pytest.mark.pulseai_emulator(request_ids=True)]


async def test_a_blocking_call_gives_status_headers_request_id_and_the_result(
    pulse: pa.AsyncPulse,
) -> None:
    raw = await pulse.with_raw_response.chat.send("What are the specs?", user="u-1")
    assert isinstance(raw, pa.RawResponse)
    assert raw.status == raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.request_id and raw.headers["X-Request-Id"] == raw.request_id
    assert raw.http_method == "POST" and raw.path == "/chat-messages"
    assert raw.url == pulse.base_url + "/chat-messages"
    assert 0 < raw.elapsed < 10 and raw.retries_taken == 0
    reply = raw.parse()
    assert isinstance(reply, pa.ChatMessage) and reply.answer and raw.parsed is reply
    # the raw form is the same call: the conversation it made is real
    again = await pulse.chat.send("More?", user="u-1", conversation_id=reply.conversation_id)
    assert again.conversation_id == reply.conversation_id


async def test_every_resource_has_a_raw_form(pulse: pa.AsyncPulse) -> None:
    reply = await pulse.chat.send("hi", user="u-2")
    raw = await pulse.with_raw_response.conversations.rename(
        reply.conversation_id, "Renamed", user="u-2"
    )
    assert raw.status == 200 and raw.parse().name == "Renamed"
    raw_info = await pulse.with_raw_response.app.info()
    assert isinstance(raw_info.parse(), pa.AppInfo) and raw_info.path == "/info"
    deleted = await pulse.with_raw_response.conversations.delete(reply.conversation_id, user="u-2")
    assert deleted.status in (200, 204) and deleted.parse() is None
    # nested resources and the generic request
    base = await pulse.with_raw_response.datasets.create(name="raw kb")
    page = await pulse.with_raw_response.datasets.documents.list(base.parse().id).first_page()
    assert page.status == 200 and page.http_method == "GET"
    assert isinstance(page.parse(), pa.Page)
    generic = await pulse.with_raw_response.request("GET", "/parameters")
    assert generic.status == 200 and isinstance(generic.parse(), dict)


async def test_retries_taken_counts_the_retries(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(503).on("/chat-messages").repeated(2))
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        raw = await pulse.with_raw_response.chat.send("hi", user="u-3")
    assert raw.status == 200 and raw.retries_taken == 2


async def test_a_method_that_returns_a_stream_comes_back_unchanged(pulse: pa.AsyncPulse) -> None:
    stream = pulse.with_raw_response.chat.stream("hi", user="u-4")
    assert isinstance(stream, pa.ChatStream)
    assert (stream.status, stream.headers, stream.request_id) == (None, None, None)
    async with stream:
        assert stream.status == 200
        assert stream.headers is not None
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.request_id == stream.headers["x-request-id"]
        await stream.until_done()
    assert stream.finished and stream.status == 200


async def test_audio_streams_have_status_and_headers(pulse: pa.AsyncPulse) -> None:
    audio = pulse.audio.text_to_audio(text="hello", user="u-5")
    await audio.read()
    assert audio.status == 200 and audio.headers is not None
    assert audio.headers["Content-Type"] == audio.content_type and audio.content_type.startswith(
        "audio/"
    )


async def test_an_echoed_key_is_masked_in_raw_headers(serve: Serve) -> None:
    key = "app-echo-0123456789abcdef"

    async def echo(request: web.Request) -> web.Response:
        token = request.headers["Authorization"]
        return web.json_response(
            {"result": "success"}, headers={"X-Echo": token, "X-Request-Id": f"id {token}"}
        )

    app = web.Application()
    app.router.add_get("/v1/parameters", echo)
    async with pa.AsyncPulse(key, base_url=await serve(app)) as pulse:
        raw = await pulse.with_raw_response.request("GET", "/parameters")
    shown = f"{raw!r} {dict(raw.headers)} {raw.request_id}"
    assert key not in shown and raw.headers["X-Echo"] == "Bearer ***"
    assert key not in repr(pickle.dumps(dict(raw.headers)))
