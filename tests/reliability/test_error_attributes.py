"""What an error says about the answer and the request (`status_code`, `headers`,
`method`, `path`), and errors for misuse that say what to do instead."""

from __future__ import annotations

import os
import pickle
import sys

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import Serve

pytestmark = pytest.mark.anyio


async def test_status_code_is_the_answers_status_for_any_status(serve: Serve) -> None:
    async def insufficient(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": "storage", "message": "full"},
            status=507,
            headers={"X-Request-Id": "req-507", "X-Version": "1.4.2"},
        )

    app = web.Application()
    app.router.add_get("/v1/messages", insufficient)
    async with pa.AsyncPulse("app-key", base_url=await serve(app), max_retries=0) as pulse:
        with pytest.raises(pa.ServerError) as caught:
            await pulse.request("GET", "/messages", params={"user": "u"})
    error = caught.value
    assert error.status == error.status_code == 507  # not the class's None
    assert error.headers["x-version"] == "1.4.2" and error.headers["X-Request-Id"] == "req-507"
    assert (error.method, error.path) == ("GET", "/messages")  # no query string
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.method, copy.path) == (507, "GET", "/messages")
    assert copy.headers["x-version"] == "1.4.2"


async def test_every_status_class_keeps_its_own_status(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(404).on("/info"))
    async with emulator.client() as pulse:
        with pytest.raises(pa.NotFoundError) as caught:
            await pulse.app.info()
    assert caught.value.status_code == 404 and caught.value.path == "/info"
    assert pa.NotFoundError._default_status == 404  # the class-level mapping, renamed


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_an_in_stream_error_carries_the_streams_headers(emulator: Emulator) -> None:
    emulator.faults.add(Fault.error_after(1, "provider_quota_exceeded"))
    async with emulator.client() as pulse:
        with pytest.raises(pa.ProviderQuotaExceededError) as caught:
            async with pulse.chat.stream("hi", user="u") as stream:
                await stream.until_done()
    error = caught.value
    assert error.status_code == 400 and (error.method, error.path) == ("POST", "/chat-messages")
    assert error.headers["content-type"].startswith("text/event-stream")
    assert error.request_id == stream.request_id == error.headers["x-request-id"]


async def test_an_echoed_key_is_masked_in_error_headers(serve: Serve) -> None:
    key = "app-echo-error-0123456789ab"
    pa.AsyncPulse("app-echo-0123456789abcdef")  # another key with the same first 8 characters

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": "invalid_param", "message": "no"},
            status=400,
            headers={"X-Echo": request.headers["Authorization"]},
        )

    app = web.Application()
    app.router.add_post("/v1/chat-messages", echo)
    async with pa.AsyncPulse(key, base_url=await serve(app)) as pulse:
        with pytest.raises(pa.InvalidParamError) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.headers["x-echo"] == "Bearer ***"
    assert key.encode() not in pickle.dumps(caught.value)


async def test_calling_a_closed_client_says_to_create_a_new_one(emulator: Emulator) -> None:
    pulse = emulator.client()
    async with pulse:
        await pulse.app.info()
    with pytest.raises(pa.ClientClosedError, match="create a new client") as caught:
        await pulse.app.info()
    assert isinstance(caught.value, pa.PulseError)


async def test_reading_a_closed_stream_says_to_start_a_new_one(pulse: pa.AsyncPulse) -> None:
    stream = pulse.chat.stream("hi", user="u")
    await stream.aclose()
    with pytest.raises(pa.StreamClosedError, match="start a new one") as caught:
        async for _ in stream:
            pass
    assert isinstance(caught.value, pa.PulseError) and isinstance(caught.value, RuntimeError)
    with pytest.raises(pa.StreamClosedError):
        async with stream:
            pass


SECOND_LOOP = """
import asyncio
import pulseai_async as pa

pulse = pa.AsyncPulse()  # the key and the base URL from the environment


async def main() -> None:
    await pulse.app.info()


asyncio.run(main())  # the pool is made in this loop, which then ends
try:
    asyncio.run(main())
except pa.PulseError as exc:
    print(type(exc).__name__, isinstance(exc, RuntimeError), exc, sep="|")
"""


async def test_a_client_used_from_a_second_event_loop_says_where_to_create_it(
    emulator: Emulator,
) -> None:
    # A script of its own, as a user would write it: two asyncio.run() calls.
    env = {
        **os.environ,
        "PULSEAI_API_KEY": emulator.api_key,
        "PULSEAI_BASE_URL": emulator.base_url,
    }
    result = await anyio.run_process([sys.executable, "-c", SECOND_LOOP], env=env)
    name, runtime_error, message = result.stdout.decode().strip().split("|")
    assert (name, runtime_error) == ("EventLoopMismatchError", "True")
    assert "create the client inside the event loop that uses it" in message
