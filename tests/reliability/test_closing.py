"""Closing the client while work is in flight (issue 12, item 3).

`aclose()` ends what still runs at once: readers of open streams (in other tasks) and
callers of running calls raise `ClientClosedError`, never retried; later calls raise
it too, on `with_options` copies as well. Before the fix, 20 streams being read in
other tasks all still hung 15 s after `aclose()` (with `read=3`), and running calls got
a bare `RuntimeError` after a retry wait.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import msgspec
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import Serve

pytestmark = pytest.mark.anyio

FIRST_EVENT = (
    b"data: "
    + msgspec.json.encode(
        {
            "event": "message",
            "answer": "hi ",
            "task_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
            "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
            "created_at": 1,
        }
    )
    + b"\n\n"
)


class Stalling:
    """A server whose streams send one event and go silent, whose blocking calls never
    answer, and whose `/info` answers 503 with a long Retry-After; counts requests."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.app = web.Application()
        self.app.router.add_post("/v1/chat-messages", self.chat)
        self.app.router.add_get("/v1/info", self.busy)

    def count(self, request: web.Request) -> None:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.count(request)
        body = await request.json()
        if body["response_mode"] == "blocking":
            await asyncio.sleep(30)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(FIRST_EVENT)
        await asyncio.sleep(30)
        return response

    async def busy(self, request: web.Request) -> web.Response:
        self.count(request)
        return web.json_response({"message": "busy"}, status=503, headers={"Retry-After": "30"})


@pytest.fixture
async def stalling(serve: Serve) -> tuple[Stalling, str]:
    server = Stalling()
    return server, await serve(server.app)


async def until(condition: Any) -> None:
    while not condition():  # noqa: ASYNC110 - counters in the server and readers, no event
        await anyio.sleep(0.01)


async def outcome(call: Any) -> BaseException | str:
    try:
        await call()
    except BaseException as exc:  # the outcome under test, whatever it is
        return exc
    return "returned"


async def test_aclose_ends_streams_read_in_other_tasks(stalling: tuple[Stalling, str]) -> None:
    server, url = stalling
    pulse = pa.AsyncPulse("app-k", base_url=url, timeout=pa.Timeout(read=30))
    outcomes: list[BaseException | str] = []
    started = 0

    async def reader() -> None:
        nonlocal started

        async def read() -> None:
            nonlocal started
            async with pulse.chat.stream("q", user="u") as stream:
                async for _ in stream:
                    started += 1

        outcomes.append(await outcome(read))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(reader)
            await until(lambda: started == 20)
            closed_at = time.perf_counter()
            await pulse.aclose()
        woke_after = time.perf_counter() - closed_at
    assert woke_after < 1  # at once, not after the 30 s read timeout
    assert len(outcomes) == 20
    assert all(isinstance(exc, pa.ClientClosedError) for exc in outcomes)
    error = outcomes[0]
    assert isinstance(error, pa.ClientClosedError)
    assert error.partial_text == "hi "
    assert "create a new client" in str(error)
    assert server.hits["/v1/chat-messages"] == 20


async def test_aclose_ends_running_calls_without_retrying_them(
    stalling: tuple[Stalling, str],
) -> None:
    server, url = stalling
    pulse = pa.AsyncPulse("app-k", base_url=url)
    outcomes: list[BaseException | str] = []

    async def call(make: Any) -> None:
        outcomes.append(await outcome(make))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(call, lambda: pulse.chat.send("q", user="u"))  # no answer
                group.start_soon(call, pulse.app.info)  # in a 30 s Retry-After wait
            await until(lambda: server.hits == {"/v1/chat-messages": 5, "/v1/info": 5})
            closed_at = time.perf_counter()
            await pulse.aclose()
        woke_after = time.perf_counter() - closed_at
    assert woke_after < 1
    assert len(outcomes) == 10
    assert all(isinstance(exc, pa.ClientClosedError) for exc in outcomes), outcomes
    assert server.hits == {"/v1/chat-messages": 5, "/v1/info": 5}  # none retried


async def test_a_stream_still_starting_ends_when_the_client_closes(
    serve: Serve,
) -> None:
    async def no_head(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    app = web.Application()
    app.router.add_post("/v1/chat-messages", no_head)
    pulse = pa.AsyncPulse("app-k", base_url=await serve(app))
    stream = pulse.chat.stream("q", user="u")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            results: list[BaseException | str] = []

            async def enter() -> None:
                async def use() -> None:
                    async with stream:
                        pass

                results.append(await outcome(use))

            group.start_soon(enter)
            await anyio.sleep(0.3)
            await pulse.aclose()
    assert len(results) == 1 and isinstance(results[0], pa.ClientClosedError)


async def test_calls_on_a_closed_client_and_its_copies_are_refused(
    stalling: tuple[Stalling, str],
) -> None:
    server, url = stalling
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        copy = pulse.with_options(timeout=5)
    later_copy = pulse.with_options(max_retries=0)
    for client in (pulse, copy, later_copy):
        with pytest.raises(pa.ClientClosedError, match="create a new client"):
            await client.app.info()
        with pytest.raises(pa.ClientClosedError, match="POST /chat-messages"):
            await client.chat.send("q", user="u")
        with pytest.raises(pa.ClientClosedError):
            async with client.chat.stream("q", user="u"):
                pass
        with pytest.raises(pa.ClientClosedError):
            await client.audio.text_to_audio("hi", user="u").read()
    assert server.hits == {}  # nothing was sent


async def test_closing_the_original_ends_a_copys_stream(stalling: tuple[Stalling, str]) -> None:
    _, url = stalling
    pulse = pa.AsyncPulse("app-k", base_url=url)
    copy = pulse.with_options(timeout=pa.Timeout(read=30))
    with anyio.fail_after(5):
        stream = copy.chat.stream("q", user="u")
        async with stream:
            first = await stream.__anext__()
            assert isinstance(first, pa.MessageEvent)
            await copy.aclose()  # a copy's aclose is a no-op ...
            await pulse.aclose()  # ... the original's ends the copy's stream
            with pytest.raises(pa.ClientClosedError) as caught:
                await stream.__anext__()
    assert caught.value.partial_text == "hi "


async def test_a_streams_own_aclose_still_ends_its_reader_quietly(
    stalling: tuple[Stalling, str],
) -> None:
    """The documented contrast: closing a stream yourself is not an error."""
    _, url = stalling
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        stream = pulse.chat.stream("q", user="u")
        events: list[Any] = []

        async def read() -> None:
            async for event in stream:
                events.append(event)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(read)
                await until(lambda: events)
                await stream.aclose()
    assert len(events) == 1 and not stream.finished
