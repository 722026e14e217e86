"""Timeouts bound what the user asked to bound (issue 12, item 2).

Each test sets a bound, points the client at a server that would hold it far longer,
and asserts the typed error and the elapsed time against the bound (with a generous
margin: the machine is shared). Figures before the fix, from the same servers:
`Timeout(connect=2, total=3)` on a port whose connects hang took 7.8 s and
`chat.stream(timeout=3)` 11.3 s; `timeout=2` with `429 Retry-After: 99999` still slept
after 80 s; a stream whose headers arrive one byte a second, with `read=3`, was open
after 25 s; a stream of pings had no bound at all; `nan` and `inf` were accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import Serve, checked_out
from .raw_http import OK_JSON, Connection, RawServer, unconnectable

pytestmark = pytest.mark.anyio

MARGIN = 1.5
"""Seconds a bound may be overrun on a loaded 2-core machine."""


def event(answer: str, name: str = "message") -> bytes:
    payload = {
        "event": name,
        "answer": answer,
        "task_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
        "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
        "created_at": 1,
    }
    if name == "message_end":
        payload["metadata"] = {}
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


async def read_stream(pulse: pa.AsyncPulse, **options: Any) -> pa.ChatStream:
    async with pulse.chat.stream("q", user="u", **options) as stream:
        async for _ in stream:
            pass
    return stream


class Elapsed:
    def __enter__(self) -> Elapsed:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started


# --- total bounds the whole call, retries and their waits included --------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_total_bounds_retried_connect_timeouts(streaming: bool) -> None:
    with unconnectable() as url:
        timeout = pa.Timeout(connect=1, total=2.5)
        async with pa.AsyncPulse("app-k", base_url=url, timeout=timeout) as pulse:
            with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
                if streaming:
                    await read_stream(pulse)
                else:
                    await pulse.chat.send("q", user="u")
    # before: three 1 s connect timeouts and two back-offs (4.5 s or more); now the
    # retry starts (its back-off ends inside the 2.5 s) and the deadline cuts it
    assert 2.4 <= elapsed.seconds < 2.5 + MARGIN
    assert caught.value.phase == "total"


async def test_a_retry_whose_wait_ends_past_the_deadline_is_not_started() -> None:
    with unconnectable() as url:
        timeout = pa.Timeout(connect=1, total=1.2)  # the back-off (>= 0.5 s) ends past it
        async with pa.AsyncPulse("app-k", base_url=url, timeout=timeout) as pulse:
            with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
                await pulse.chat.send("q", user="u")
    assert 0.9 <= elapsed.seconds < 1.2 + MARGIN
    assert caught.value.phase == "connect"  # the failure itself, raised at once


async def test_a_number_bounds_a_streams_start_with_its_retries() -> None:
    with unconnectable() as url:
        async with pa.AsyncPulse("app-k", base_url=url) as pulse:
            with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError):
                await read_stream(pulse, timeout=1.5)
    assert elapsed.seconds < 1.5 + MARGIN


async def test_a_retry_after_past_the_deadline_is_not_waited_for(serve: Serve) -> None:
    hits = 0

    async def rate_limited(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        body = {"code": "too_many_requests", "message": "slow down", "status": 429}
        return web.json_response(body, status=429, headers={"Retry-After": "99999"})

    app = web.Application()
    app.router.add_post("/v1/chat-messages", rate_limited)
    async with pa.AsyncPulse("app-k", base_url=await serve(app)) as pulse:
        with Elapsed() as elapsed, pytest.raises(pa.RateLimitError) as caught:
            await pulse.chat.send("q", user="u", timeout=2)
    assert elapsed.seconds < 1  # the 60 s (capped) wait would end past the 2 s deadline
    assert caught.value.retry_after == 99999
    assert hits == 1


async def test_retries_that_fit_inside_the_total_still_happen(serve: Serve) -> None:
    hits = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        if hits < 3:
            retry_after = {"Retry-After": "0.2"}
            return web.json_response({"message": "busy"}, status=503, headers=retry_after)
        return web.json_response({"answer": "ok"})

    app = web.Application()
    app.router.add_post("/v1/chat-messages", flaky)
    async with pa.AsyncPulse("app-k", base_url=await serve(app)) as pulse:
        reply = await pulse.chat.send("q", user="u", timeout=2)
    assert reply.answer == "ok" and hits == 3


# --- the response head: connect, send, status line and headers ----------------------------


async def trickle_head(connection: Connection) -> None:
    await connection.read_request()
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Padding: " + b"a" * 60:
        await connection.send(bytes([byte]))
        await asyncio.sleep(0.25)


async def unfinished_head(connection: Connection) -> None:
    await connection.read_request()
    await connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    await asyncio.sleep(30)


@pytest.mark.parametrize("handler", [trickle_head, unfinished_head])
async def test_a_streams_response_head_is_bounded_by_read(handler: Any) -> None:
    entered = False
    async with RawServer(handler) as server:
        timeout = pa.Timeout(read=1.5)  # total stays at its default, 600 s
        async with pa.AsyncPulse("app-k", base_url=server.base_url, timeout=timeout) as pulse:
            with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
                async with pulse.chat.stream("q", user="u"):
                    entered = True
    # before: a trickling head kept `async with` from entering for as long as it lasted
    assert 1.4 <= elapsed.seconds < 1.5 + MARGIN
    assert caught.value.phase == "read"
    assert not entered
    assert server.requests == 1  # a POST that was sent is not sent again


async def test_a_pooled_connection_whose_head_timed_out_is_closed_not_reused() -> None:
    # The head bound fails aiohttp's wait on the connection itself: that connection must
    # leave the pool, or the next request on it would read the late head.
    async def handler(connection: Connection) -> None:
        while await connection.read_request() is not None:
            if connection.server.requests == 2:  # the stream, on the pooled connection
                await asyncio.sleep(30)
                return
            await connection.answer_json()

    async with (
        RawServer(handler) as server,
        pa.AsyncPulse("app-k", base_url=server.base_url, timeout=pa.Timeout(read=1)) as pulse,
    ):
        await pulse.chat.send("q", user="u")  # leaves its connection in the pool
        with pytest.raises(pa.APITimeoutError) as caught:
            async with pulse.chat.stream("q", user="u"):
                pass
        assert caught.value.phase == "read"
        assert (await pulse.chat.send("q", user="u")).answer == "ok"
        assert checked_out(pulse) == 0
    assert server.requests == 3
    assert server.connections == 2  # the timed-out connection was not handed out again


@pytest.mark.parametrize("bound", ["total", "read"])
@pytest.mark.parametrize("handler", [trickle_head, unfinished_head])
async def test_a_blocking_calls_response_head_is_bounded(handler: Any, bound: str) -> None:
    async with RawServer(handler) as server:
        timeout = pa.Timeout(**{bound: 1.5})  # the other stays at its default, 300 or 600 s
        async with pa.AsyncPulse("app-k", base_url=server.base_url, timeout=timeout) as pulse:
            with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
                await pulse.chat.send("q", user="u")
            assert checked_out(pulse) == 0
    # before, for `read`: aiohttp's read timer started again at every byte of a trickle
    assert 1.4 <= elapsed.seconds < 1.5 + MARGIN
    assert caught.value.phase == bound
    assert server.requests == 1  # a POST that was sent is not sent again


def body_in_pieces(pause: float, pieces: int = 5) -> Callable[[Connection], Awaitable[None]]:
    """A handler answering each request with a JSON body sent in `pieces`, `pause` s apart."""

    async def handler(connection: Connection) -> None:
        while await connection.read_request() is not None:
            body = OK_JSON
            await connection.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)
            )
            size = -(-len(body) // pieces)
            for start in range(0, len(body), size):
                await asyncio.sleep(pause)
                await connection.send(body[start : start + size])

    return handler


async def test_a_blocking_body_that_goes_silent_is_bounded_by_read() -> None:
    async with (
        RawServer(body_in_pieces(30)) as server,
        pa.AsyncPulse("app-k", base_url=server.base_url, timeout=pa.Timeout(read=1)) as pulse,
    ):
        with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
            await pulse.chat.send("q", user="u")
        assert checked_out(pulse) == 0
    assert 0.9 <= elapsed.seconds < 1 + MARGIN
    assert caught.value.phase == "read"
    assert server.requests == 1


@pytest.mark.parametrize("streaming", [False, True])
async def test_an_error_bodys_silence_is_bounded_by_read(streaming: bool) -> None:
    # before: a stream's error body was bounded by `total` alone (600 s by default)
    async def handler(connection: Connection) -> None:
        await connection.read_request()
        await connection.send(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"code": "invalid_param", '
        )
        await asyncio.sleep(30)

    async with (
        RawServer(handler) as server,
        pa.AsyncPulse("app-k", base_url=server.base_url, timeout=pa.Timeout(read=1)) as pulse,
    ):
        with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
            if streaming:
                await read_stream(pulse)
            else:
                await pulse.chat.send("q", user="u")
        assert checked_out(pulse) == 0
    assert 0.9 <= elapsed.seconds < 1 + MARGIN
    assert caught.value.phase == "read"


async def test_read_bounds_each_wait_of_a_blocking_body_not_the_whole_of_it() -> None:
    # five pieces 0.4 s apart: 2 s in all, each wait well under the 1 s read bound
    async with (
        RawServer(body_in_pieces(0.4)) as server,
        pa.AsyncPulse("app-k", base_url=server.base_url, timeout=pa.Timeout(read=1)) as pulse,
    ):
        with Elapsed() as elapsed:
            reply = await pulse.chat.send("q", user="u")
        assert reply.answer == "ok"
        assert (await pulse.chat.send("q", user="u")).answer == "ok"  # and again, pooled
    assert elapsed.seconds >= 2
    assert server.connections == 1


async def test_an_uploads_read_bound_starts_once_its_body_is_sent(serve: Serve) -> None:
    # An upload slower than `read` is not a silent server: the bound on its answer
    # counts from the end of the upload.
    class SlowFile:
        def __init__(self) -> None:
            self.chunks = [b"x" * 1000] * 4

        async def read(self, size: int = -1, /) -> bytes:
            await asyncio.sleep(0.5)
            return self.chunks.pop() if self.chunks else b""

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        assert len(form["file"].file.read()) == 4000  # type: ignore[union-attr]
        return web.json_response({"id": "f-1", "name": "slow.txt", "size": 4000})

    app = web.Application()
    app.router.add_post("/v1/files/upload", upload)
    async with pa.AsyncPulse(
        "app-k", base_url=await serve(app), timeout=pa.Timeout(read=1)
    ) as pulse:
        with Elapsed() as elapsed:
            uploaded = await pulse.files.upload(("slow.txt", SlowFile()), user="u")
    assert uploaded.id == "f-1"
    assert elapsed.seconds >= 2


async def test_a_passed_in_sessions_blocking_head_is_bounded_by_read() -> None:
    # no SDK pool to bound the head: aiohttp's read timer does it
    async with (
        RawServer(unfinished_head) as server,
        aiohttp.ClientSession() as session,
        pa.AsyncPulse(
            "app-k", base_url=server.base_url, timeout=pa.Timeout(read=1), session=session
        ) as pulse,
    ):
        with Elapsed() as elapsed, pytest.raises(pa.APITimeoutError) as caught:
            await pulse.chat.send("q", user="u")
    assert 0.9 <= elapsed.seconds < 1 + MARGIN
    assert caught.value.phase == "read"


async def test_each_calls_total_holds_among_calls_of_other_totals(serve: Serve) -> None:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        if body["query"] == "hang":
            await asyncio.sleep(30)
        return web.json_response({"event": "message", "answer": "ok"})

    app = web.Application()
    app.router.add_post("/v1/chat-messages", handler)
    url = await serve(app)
    ended: dict[str, float] = {}

    async def timed_out(pulse: pa.AsyncPulse, name: str, total: float) -> None:
        with pytest.raises(pa.APITimeoutError) as caught:
            await pulse.chat.send("hang", user="u", timeout=pa.Timeout(total=total))
        assert caught.value.phase == "total"
        ended[name] = time.perf_counter() - started

    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            group.start_soon(timed_out, pulse, "long", 3.0)
            await anyio.sleep(0.1)
            # a shorter deadline, set after a longer one: it is not held up behind it
            group.start_soon(timed_out, pulse, "short", 0.5)
            await anyio.sleep(0.1)
            # many calls that end long before their deadline, while both wait
            for _ in range(300):
                assert (await pulse.chat.send("q", user="u")).answer == "ok"
        # and one more after them all
        started = time.perf_counter()
        await timed_out(pulse, "after", 0.5)
    assert 0.6 <= ended["short"] < 0.6 + MARGIN
    assert 3.0 <= ended["long"] < 3.0 + MARGIN
    assert 0.5 <= ended["after"] < 0.5 + MARGIN


# --- a stream's body: whole duration, and the wait between content events -----------------


def sse_app(write: Any) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the client gave up, as it should
            await write(response)
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", handler)
    return app


async def pings_forever(response: web.StreamResponse) -> None:
    await response.write(event("hello "))
    while True:
        await response.write(b"event: ping\ndata: \n\n: keep-alive comment\n\n")
        await asyncio.sleep(0.1)


async def test_pings_and_comments_do_not_count_as_content(serve: Serve) -> None:
    url = await serve(sse_app(pings_forever))
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        # the default leaves it unbounded (a long answer is not an error) ...
        with anyio.move_on_after(2) as unbounded:
            await read_stream(pulse)
        assert unbounded.cancelled_caught
        # ... a user who sets between_events gets it
        with Elapsed() as elapsed, pytest.raises(pa.StreamTimeoutError) as caught:
            await read_stream(pulse, timeout=pa.Timeout(between_events=1))
    assert 0.9 <= elapsed.seconds < 1 + MARGIN
    assert caught.value.phase == "between_events"
    assert caught.value.partial_text == "hello "
    assert "pings do not count" in str(caught.value)


async def test_content_events_restart_the_between_events_bound(serve: Serve) -> None:
    async def slow_but_steady(response: web.StreamResponse) -> None:
        for i in range(8):  # 2.4 s in all, never more than 0.3 s between events
            await response.write(event(f"w{i} "))
            await asyncio.sleep(0.3)
        await response.write(event("", "message_end"))

    url = await serve(sse_app(slow_but_steady))
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        stream = await read_stream(pulse, timeout=pa.Timeout(between_events=1))
    assert stream.finished and stream.text == "".join(f"w{i} " for i in range(8))


async def test_stream_bounds_a_streams_whole_duration(serve: Serve) -> None:
    async def endless(response: web.StreamResponse) -> None:
        while True:
            await response.write(event("x"))
            await asyncio.sleep(0.05)

    url = await serve(sse_app(endless))
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        with Elapsed() as elapsed, pytest.raises(pa.StreamTimeoutError) as caught:
            await read_stream(pulse, timeout=pa.Timeout(stream=1.5, between_events=1))
    assert 1.4 <= elapsed.seconds < 1.5 + MARGIN
    assert caught.value.phase == "stream"
    assert caught.value.partial_text and set(caught.value.partial_text) == {"x"}


async def test_between_events_bounds_a_stalled_audio_stream(serve: Serve) -> None:
    async def stalled_audio(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        await response.write(b"ID3" + b"\0" * 1000)
        await asyncio.sleep(30)
        return response

    app = web.Application()
    app.router.add_post("/v1/text-to-audio", stalled_audio)
    async with pa.AsyncPulse("app-k", base_url=await serve(app)) as pulse:
        audio = pulse.audio.text_to_audio("hi", user="u", timeout=pa.Timeout(between_events=1))
        with Elapsed() as elapsed, pytest.raises(pa.StreamTimeoutError) as caught:
            await audio.read()
    assert elapsed.seconds < 1 + MARGIN
    assert caught.value.phase == "between_events"
    assert audio.bytes_received == 1003


# --- a stream's read timeout: the reader's waits, not the socket's silences ----------------


async def test_a_reader_busy_longer_than_read_keeps_the_events_buffered_meanwhile(
    serve: Serve,
) -> None:
    async def pause_then_finish(response: web.StreamResponse) -> None:
        await response.write(event("a ") + event("b ") + event("c "))
        await asyncio.sleep(1.5)  # the socket is silent longer than `read` ...
        await response.write(event("d") + event("", "message_end"))

    url = await serve(sse_app(pause_then_finish))
    async with (
        pa.AsyncPulse("app-k", base_url=url, timeout=pa.Timeout(read=1)) as pulse,
        pulse.chat.stream("q", user="u") as stream,
    ):
        async for _ in stream:
            if stream.text == "a ":
                await asyncio.sleep(1.2)  # ... while the reader is busy, not waiting
    # before: aiohttp's socket timer fired during the sleep and threw "b c" and the rest away
    assert stream.finished and stream.text == "a b c d"


async def test_read_still_bounds_a_silence_after_many_chunks(serve: Serve) -> None:
    async def steady_then_silent(response: web.StreamResponse) -> None:
        for i in range(40):  # 40 chunks in 2 s, each wait far under `read`
            await response.write(event(f"{i} "))
            await asyncio.sleep(0.05)
        await asyncio.sleep(30)

    url = await serve(sse_app(steady_then_silent))
    async with pa.AsyncPulse("app-k", base_url=url, timeout=pa.Timeout(read=1)) as pulse:
        with Elapsed() as elapsed, pytest.raises(pa.StreamTimeoutError) as caught:
            await read_stream(pulse)
    assert 2.9 <= elapsed.seconds < 3 + MARGIN  # the 2 s of chunks, then the 1 s bound
    assert caught.value.phase == "read"
    assert caught.value.partial_text == "".join(f"{i} " for i in range(40))
    assert "read timeout of 1 s" in str(caught.value)


# --- waiting for a connection from a full pool ---------------------------------------------


async def test_open_streams_share_one_timer_and_each_is_still_bounded(serve: Serve) -> None:
    # A timer of its own for every open stream's body bounds was one more handle on the
    # event loop's heap and four more objects for the cycle collector to walk, for each
    # of a bot's thousand open streams. They share the client's one timer now.
    async def first_then_silence(response: web.StreamResponse) -> None:
        await response.write(event("hi "))
        await asyncio.Event().wait()  # never set: the client must give up

    def live_timers() -> int:  # the client's: the server's keep-alive timers aside
        return sum(
            1
            for o in gc.get_objects()
            if type(o) is asyncio.TimerHandle
            and not o.cancelled()
            and "RequestHandler" not in repr(o)
        )

    url = await serve(sse_app(first_then_silence))
    async with pa.AsyncPulse("app-k", base_url=url, timeout=pa.Timeout(read=1.5)) as pulse:
        before = live_timers()
        with Elapsed() as elapsed:
            reads = [asyncio.ensure_future(read_stream(pulse)) for _ in range(30)]
            await asyncio.sleep(0.75)  # every stream has its first event, and waits
            during = live_timers()
            results = await asyncio.gather(*reads, return_exceptions=True)
    assert during - before <= 2
    assert all(isinstance(r, pa.StreamTimeoutError) and r.phase == "read" for r in results)
    assert all(r.partial_text == "hi " for r in results)  # type: ignore[union-attr]
    assert 1.5 <= elapsed.seconds < 1.5 + MARGIN


@pytest.mark.parametrize(
    "limits",
    [{"max_connections": 2}, {"max_connections": 100, "max_connections_per_host": 2}],
    ids=["total", "per_host"],
)
async def test_the_wait_for_a_pooled_connection_is_bounded(
    serve: Serve, limits: dict[str, int]
) -> None:
    arrived = 0

    async def held_open(response: web.StreamResponse) -> None:
        nonlocal arrived
        arrived += 1
        await response.write(event("hi "))
        await asyncio.sleep(30)

    url = await serve(sse_app(held_open))
    timeout = pa.Timeout(pool=0.5)
    async with pa.AsyncPulse("app-k", base_url=url, timeout=timeout, **limits) as pulse:
        holders = [pulse.chat.stream("q", user="u") for _ in range(2)]
        for holder in holders:
            await holder.__aenter__()
        outcomes: list[BaseException | None] = []

        async def one() -> None:
            try:
                await read_stream(pulse, max_retries=0)
                outcomes.append(None)
            except pa.PulseError as exc:
                outcomes.append(exc)

        with Elapsed() as elapsed:
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(one)
        for holder in holders:
            await holder.aclose()
    # before: the waiters were still queued, with no error, long after connect=2 s
    assert elapsed.seconds < 0.5 + MARGIN
    assert len(outcomes) == 50
    assert all(isinstance(exc, pa.APITimeoutError) and exc.phase == "pool" for exc in outcomes)
    assert "max_connections" in str(outcomes[0])
    assert arrived == 2  # no waiter reached the server


@contextlib.asynccontextmanager
async def one_connection_held(url: str, *, pool: float) -> AsyncIterator[pa.AsyncPulse]:
    """A client of one connection, which a stream holds (read to its end meanwhile)."""
    timeout = pa.Timeout(pool=pool)
    async with pa.AsyncPulse("app-k", base_url=url, max_connections=1, timeout=timeout) as pulse:
        holder = pulse.chat.stream("q", user="u")
        await holder.__aenter__()
        async with anyio.create_task_group() as group:
            group.start_soon(holder.until_done)
            yield pulse


async def test_a_pool_timeout_is_retried_like_a_connect_failure(serve: Serve) -> None:
    async def held_open(response: web.StreamResponse) -> None:
        await response.write(event("hi "))
        await asyncio.sleep(0.6)
        await response.write(event("", "message_end"))

    url = await serve(sse_app(held_open))
    async with one_connection_held(url, pool=0.3) as pulse:
        # the first wait ends at 0.3 s; the holder frees the connection at 0.6 s,
        # during the retry's wait for it
        patient = pulse.with_options(
            retry_policy=pa.RetryPolicy(max_retries=1, initial_delay=0.2, jitter=0)
        )
        second = await read_stream(patient)
    assert second.finished and second.text == "hi "


async def test_the_pool_timeout_ends_once_the_connection_is_handed_over(serve: Serve) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 2:  # the waiter, once it has the connection: a head slower than `pool`
            await asyncio.sleep(1.0)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(event("hi "))
        if calls == 1:  # the holder: keeps the only connection for 0.3 s
            await asyncio.sleep(0.3)
        await response.write(event("", "message_end"))
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", handler)
    url = await serve(app)
    async with one_connection_held(url, pool=0.6) as pulse:
        # queued for 0.3 s (within `pool`), then 1 s for the head: `read` bounds that
        waiter = await read_stream(pulse, max_retries=0)
    assert waiter.finished and waiter.text == "hi "


# --- NaN and infinity are not durations -----------------------------------------------------


BAD_SECONDS = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", BAD_SECONDS, ids=str)
@pytest.mark.parametrize("field", ["connect", "read", "total", "pool", "stream", "between_events"])
def test_nan_and_infinite_timeout_fields_are_refused(field: str, value: float) -> None:
    with pytest.raises(pa.PulseValidationError, match=f"Timeout.{field} must be a positive"):
        pa.Timeout(**{field: value})


@pytest.mark.parametrize("value", BAD_SECONDS, ids=str)
async def test_nan_and_infinite_timeouts_are_refused_before_sending(
    serve: Serve, value: float
) -> None:
    hits = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response({"answer": "ok"})

    app = web.Application()
    app.router.add_post("/v1/chat-messages", answer)
    url = await serve(app)
    with pytest.raises(pa.PulseValidationError, match="finite"):
        pa.AsyncPulse("app-k", base_url=url, timeout=value)
    async with pa.AsyncPulse("app-k", base_url=url) as pulse:
        with pytest.raises(pa.PulseValidationError, match="finite"):
            pulse.with_options(timeout=value)
        with pytest.raises(pa.PulseValidationError, match="finite"):
            await pulse.chat.send("q", user="u", timeout=value)
        with pytest.raises(pa.PulseValidationError, match="finite"):
            pulse.chat.stream("q", user="u", timeout=value)
        with pytest.raises(pa.PulseValidationError, match="finite"):
            pa.RetryPolicy(max_delay=value)
    assert hits == 0
