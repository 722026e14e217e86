"""Memory is bounded by the SDK, not by the server: oversized, endless and decompressing
bodies, endless error bodies, endless streams and pagers that never advance, each
served by a purpose-built aiohttp.web app on loopback, each measured with tracemalloc
(the server runs in this process too, so its buffers count against the bound)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc
from collections.abc import Iterator
from typing import Any

import anyio
import msgspec
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import Serve, checked_out

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)
CONVERSATION = "6bd6ba3e-4b5d-4c5a-9a4e-5d1ef5a1b2c3"


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python allocations inside the block, in bytes (`result[0]`)."""
    result = [0]
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


class Hostile:
    """A server that streams `total` bytes of `chunk` (or forever) after `headers`,
    and records whether the client hung up before the end."""

    def __init__(self) -> None:
        self.hits = 0
        self.hung_up = asyncio.Event()

    async def body(
        self,
        request: web.Request,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        head: bytes = b"",
        chunk: bytes = CHUNK,
        total: int | None = None,
    ) -> web.StreamResponse:
        self.hits += 1
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        sent = 0
        try:
            await response.write(head)
            while total is None or sent < total:
                await response.write(chunk)
                sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the client closed the connection
            self.hung_up.set()
        return response

    def handler(self, **body: Any) -> Any:
        async def respond(request: web.Request) -> web.StreamResponse:
            return await self.body(request, **body)

        return respond


async def serve_routes(serve: Serve, routes: dict[str, Any]) -> str:
    app = web.Application()
    for path, handler in routes.items():
        method, _, route = path.partition(" ")
        app.router.add_route(method, "/v1" + route, handler)
    return await serve(app)


# --- non-stream bodies ----------------------------------------------------------------------


async def test_endless_body_stops_at_the_default_bound_and_closes_the_connection(
    serve: Serve,
) -> None:
    hostile = Hostile()
    url = await serve_routes(serve, {"GET /info": hostile.handler(total=256 * MiB)})
    with anyio.fail_after(30), peak_memory() as peak:
        async with pa.AsyncPulse("app-key", base_url=url, max_retries=0) as pulse:
            with pytest.raises(pa.ResponseTooLargeError) as caught:
                await pulse.app.info()
            assert checked_out(pulse) == 0
            await hostile.hung_up.wait()  # the connection was closed, not drained
    error = caught.value
    assert error.limit == 32 * MiB and error.status == 200
    assert "GET /info" in str(error) and "max_response_size" in str(error)
    assert peak[0] < 48 * MiB  # the chunks read so far, and nothing else
    assert hostile.hits == 1  # not retried


@pytest.mark.parametrize("call", ["send", "list", "request"])
async def test_the_bound_is_per_client_and_per_call(serve: Serve, call: str) -> None:
    hostile = Hostile()
    endless = hostile.handler()
    url = await serve_routes(
        serve,
        {"POST /chat-messages": endless, "GET /conversations": endless, "GET /anything": endless},
    )
    calls = {
        "send": lambda p, **o: p.chat.send("hi", user="u", **o),
        "list": lambda p, **o: p.conversations.list(user="u", **o).first_page(),
        "request": lambda p, **o: p.request("GET", "/anything", **o),
    }
    with anyio.fail_after(20), peak_memory() as peak:
        async with pa.AsyncPulse(
            "app-key", base_url=url, max_retries=0, max_response_size=2 * MiB
        ) as pulse:
            with pytest.raises(pa.ResponseTooLargeError, match="2097152 bytes") as per_client:
                await calls[call](pulse)
            with pytest.raises(pa.ResponseTooLargeError, match="65536 bytes") as per_call:
                await calls[call](pulse, max_response_size=64 * 1024)
            smaller = pulse.with_options(max_response_size=MiB)
            with pytest.raises(pa.ResponseTooLargeError, match="1048576 bytes"):
                await calls[call](smaller)
            assert checked_out(pulse) == 0
    assert (per_client.value.limit, per_call.value.limit) == (2 * MiB, 64 * 1024)
    assert peak[0] < 12 * MiB


async def test_content_length_over_the_bound_is_refused_before_reading(serve: Serve) -> None:
    huge = str(2 * 1024 * MiB)

    async def announce(request: web.Request) -> web.StreamResponse:
        # 2 GiB announced, one chunk sent, then the server waits: only a client that
        # believes Content-Length fails at once
        response = web.StreamResponse(headers={"Content-Length": huge})
        await response.prepare(request)
        await response.write(CHUNK)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        return response

    url = await serve_routes(serve, {"GET /info": announce})
    with anyio.fail_after(5):
        async with pa.AsyncPulse("app-key", base_url=url, max_retries=0) as pulse:
            with pytest.raises(pa.ResponseTooLargeError, match=f"Content-Length is {huge}"):
                await pulse.app.info()
            assert checked_out(pulse) == 0


async def test_a_gzip_bomb_is_counted_after_decompression(serve: Serve) -> None:
    bomb = gzip.compress(b"\0" * (256 * MiB), compresslevel=9)  # about 250 KiB on the wire
    assert len(bomb) < MiB

    async def explode(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    url = await serve_routes(serve, {"GET /info": explode})
    with anyio.fail_after(20), peak_memory() as peak:
        async with pa.AsyncPulse(
            "app-key", base_url=url, max_retries=0, max_response_size=4 * MiB
        ) as pulse:
            with pytest.raises(pa.ResponseTooLargeError, match="4194304 bytes"):
                await pulse.app.info()
            assert checked_out(pulse) == 0
    assert peak[0] < 16 * MiB + 2 * len(bomb)


async def test_a_body_within_the_bound_is_returned(serve: Serve) -> None:
    info = {"name": "n" * (MiB - 100), "description": "", "tags": []}
    body = msgspec.json.encode(info)

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    url = await serve_routes(serve, {"GET /info": answer})
    async with pa.AsyncPulse("app-key", base_url=url, max_response_size=len(body)) as pulse:
        assert (await pulse.app.info()).name == info["name"]  # exactly at the bound: fine
        with pytest.raises(pa.ResponseTooLargeError):
            await pulse.app.info(max_response_size=len(body) - 1)


# --- error bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["blocking", "stream"])
async def test_an_endless_error_body_is_read_up_to_64_kib(serve: Serve, kind: str) -> None:
    hostile = Hostile()
    prefix = b'{"code": "unavailable", "message": "try later", "pad": "'

    async def endless_error(request: web.Request) -> web.StreamResponse:
        return await hostile.body(request, status=503, head=prefix, total=256 * MiB)

    url = await serve_routes(serve, {"POST /chat-messages": endless_error})
    with anyio.fail_after(20), peak_memory() as peak:
        async with pa.AsyncPulse("app-key", base_url=url, max_retries=0) as pulse:
            with pytest.raises(pa.ServiceUnavailableError) as caught:
                if kind == "blocking":
                    await pulse.chat.send("hi", user="u")
                else:
                    async with pulse.chat.stream("hi", user="u") as stream:
                        await stream.final_text()
            assert checked_out(pulse) == 0
            await hostile.hung_up.wait()
    error = caught.value
    assert error.status == 503
    assert isinstance(error.body, str) and len(error.body) <= 64 * 1024  # kept truncated
    assert error.body.startswith(prefix.decode())
    assert peak[0] < 8 * MiB


# --- streams ------------------------------------------------------------------------------


def message_event(answer: str) -> bytes:
    event = {"event": "message", "answer": answer, "task_id": "t", "message_id": "m",
             "conversation_id": CONVERSATION, "created_at": 1}  # fmt: skip
    return b"data: " + msgspec.json.encode(event) + b"\n\n"


SSE = {"Content-Type": "text/event-stream"}


async def test_text_deltas_of_an_endless_stream_stop_at_the_text_bound(serve: Serve) -> None:
    hostile = Hostile()
    piece = message_event("y" * 1000) * 60  # about 64 KiB of 1,000-character deltas

    async def endless(request: web.Request) -> web.StreamResponse:
        return await hostile.body(request, headers=SSE, chunk=piece, total=256 * MiB)

    url = await serve_routes(serve, {"POST /chat-messages": endless})
    received = 0
    with anyio.fail_after(30), peak_memory() as peak:
        async with pa.AsyncPulse(
            "app-key", base_url=url, max_retries=0, max_text_length=4 * MiB
        ) as pulse:
            with pytest.raises(pa.StreamTextTooLargeError) as caught:
                async with pulse.chat.stream("hi", user="u") as stream:
                    async for delta in stream.text_deltas():
                        received += len(delta)  # and thrown away
            assert checked_out(pulse) == 0
            await hostile.hung_up.wait()
    error = caught.value
    assert isinstance(error, pa.ResponseTooLargeError) and error.limit == 4 * MiB
    assert "4194304 characters" in str(error)
    assert 4 * MiB <= received < 4 * MiB + 512 * 1024  # within a read buffer of the bound
    assert error.partial_text is not None and len(error.partial_text) == received
    assert peak[0] < 32 * MiB


async def test_an_endless_stream_of_empty_deltas_stays_small(serve: Serve) -> None:
    hostile = Hostile()
    piece = message_event("") * 600  # no text at all, 64 KiB of events

    async def endless(request: web.Request) -> web.StreamResponse:
        return await hostile.body(request, headers=SSE, chunk=piece, total=256 * MiB)

    url = await serve_routes(serve, {"POST /chat-messages": endless})
    events = 0
    held: list[int] = []
    with anyio.fail_after(60):
        async with (
            pa.AsyncPulse(
                "app-key", base_url=url, max_retries=0, max_text_length=64 * 1024
            ) as pulse,
            pulse.chat.stream("hi", user="u") as stream,
        ):
            tracemalloc.start()
            async for _ in stream:
                events += 1
                if events % 50_000 == 0:  # every 5 MiB of events
                    held.append(tracemalloc.get_traced_memory()[0])
                if events == 200_000:
                    break
            tracemalloc.stop()
    assert stream.text == "" and events == 200_000
    # what stays allocated does not grow with the events read: it moves with the read
    # buffers (by up to some 200 kB), where a list slot kept per event would add 400 kB
    # per 50,000 events, 1.2 MB over the run
    assert max(held) - held[0] < 512 * 1024, held


async def test_a_long_answer_under_the_default_bound_is_kept_whole(serve: Serve) -> None:
    deltas = 3000

    async def answer(request: web.Request) -> web.Response:
        body = message_event("z" * 1000) * deltas + b'data: {"event": "message_end"}\n\n'
        return web.Response(body=body, headers=SSE)

    url = await serve_routes(serve, {"POST /chat-messages": answer})
    async with pa.AsyncPulse("app-key", base_url=url, max_text_length=deltas * 1000) as pulse:
        text = await pulse.chat.stream("hi", user="u").final_text()
    assert len(text) == deltas * 1000


async def test_reading_endless_audio_into_memory_stops_at_the_response_bound(
    serve: Serve,
) -> None:
    hostile = Hostile()
    endless = hostile.handler(headers={"Content-Type": "audio/mpeg"}, total=256 * MiB)
    url = await serve_routes(serve, {"POST /text-to-audio": endless})
    with anyio.fail_after(20), peak_memory() as peak:
        async with pa.AsyncPulse(
            "app-key", base_url=url, max_retries=0, max_response_size=4 * MiB
        ) as pulse:
            with pytest.raises(pa.ResponseTooLargeError, match="4194304 bytes"):
                await pulse.audio.text_to_audio("hi", user="u").read()
            with pytest.raises(pa.ResponseTooLargeError, match="65536 bytes"):
                await pulse.audio.text_to_audio("hi", user="u", max_response_size=65536).read()
            streamed = 0
            async with pulse.audio.text_to_audio("hi", user="u") as audio:
                async for chunk in audio:  # streaming it is not bounded: nothing is kept
                    streamed += len(chunk)
                    if streamed > 8 * MiB:
                        break
            assert checked_out(pulse) == 0
    assert peak[0] < 16 * MiB


# --- pagers -------------------------------------------------------------------------------


def conversation(number: int) -> dict[str, Any]:
    return {"id": f"6bd6ba3e-4b5d-4c5a-9a4e-5d1ef5a1b2c{number}", "name": f"c{number}"}


@pytest.mark.parametrize(
    ("pages", "hits", "yielded", "message"),
    [
        ([[1]], 2, 1, "the same page again"),  # a server that ignores the cursor
        ([[1], [2]], 3, 3, "a cursor already used"),  # one that cycles between two pages
    ],
)
async def test_a_pager_whose_cursor_does_not_advance_raises(
    serve: Serve, pages: list[list[int]], hits: int, yielded: int, message: str
) -> None:
    served = 0

    async def listing(request: web.Request) -> web.Response:
        nonlocal served
        page = pages[served % len(pages)]
        served += 1
        data = [conversation(n) for n in page]
        return web.json_response({"data": data, "has_more": True, "limit": 1})

    url = await serve_routes(serve, {"GET /conversations": listing})
    async with pa.AsyncPulse("app-key", base_url=url) as pulse:
        with (
            anyio.fail_after(10),
            pytest.raises(pa.PaginationStalledError, match=message) as caught,
        ):
            await pulse.conversations.list(user="u", limit=1).collect()
    assert served == hits  # not one page more
    assert caught.value.cursor == conversation(1)["id"] and caught.value.pages == yielded
    assert "does not advance" in str(caught.value)


async def test_a_page_number_pager_whose_server_ignores_the_page_raises(serve: Serve) -> None:
    hits = 0

    async def same_page(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        dataset = {"id": CONVERSATION, "name": "kb"}
        return web.json_response({"data": [dataset], "has_more": True, "limit": 1, "page": 1})

    url = await serve_routes(serve, {"GET /datasets": same_page})
    async with pa.AsyncPulse(knowledge_api_key="dataset-key", base_url=url) as pulse:
        with anyio.fail_after(10), pytest.raises(pa.PaginationStalledError, match="same page"):
            async for _ in pulse.datasets.list(limit=1):
                pass
    assert hits == 2
