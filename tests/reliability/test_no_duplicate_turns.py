"""Retries never duplicate a turn (issue 12, item 8).

The servers count the requests they read whole. Before the fix, `chat.send` against a
server that read the whole request and closed the connection, or answered with a
malformed head, reached it three times: one chat turn, billed three times.
"""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa

from ..conftest import FAST_RETRIES, Serve
from .raw_http import Connection, RawServer

pytestmark = pytest.mark.anyio


async def read_then_close(connection: Connection) -> None:
    await connection.read_request()
    connection.close()


async def malformed_header(connection: Connection) -> None:
    await connection.read_request()
    await connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nNot a header line\r\n\r\n{}")


async def garbage_status_line(connection: Connection) -> None:
    await connection.read_request()
    await connection.send(b"HTTP/1.1 two hundred\r\n\r\n")


async def cut_body(connection: Connection) -> None:
    await connection.read_request()
    await connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"answer": "')
    connection.close()


def client(server: RawServer, **kwargs: Any) -> pa.AsyncPulse:
    return pa.AsyncPulse("app-k", base_url=server.base_url, retry_policy=FAST_RETRIES, **kwargs)


@pytest.mark.parametrize(
    ("handler", "stage"),
    [
        (read_then_close, "sent"),
        (malformed_header, "answered"),
        (garbage_status_line, "answered"),
        (cut_body, None),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_a_chat_turn_the_server_had_is_sent_once(
    handler: Any, stage: str | None, streaming: bool
) -> None:
    async with RawServer(handler) as server, client(server) as pulse:
        with anyio.fail_after(10), pytest.raises(pa.PulseError) as caught:
            if streaming:
                async with pulse.chat.stream("q", user="u") as stream:
                    await stream.until_done()
            else:
                await pulse.chat.send("q", user="u")
    assert server.requests == 1
    assert isinstance(caught.value, pa.APIConnectionError | pa.ResponseDecodeError)
    if stage is not None:
        assert isinstance(caught.value, pa.APIConnectionError)
        assert caught.value.stage == stage


async def test_a_malformed_answer_to_an_idempotent_call_is_not_sent_again() -> None:
    async with RawServer(malformed_header) as server, client(server) as pulse:
        with anyio.fail_after(10), pytest.raises(pa.APIConnectionError) as caught:
            await pulse.app.info()
    assert caught.value.stage == "answered"
    assert server.requests == 1


async def test_an_idempotent_call_the_server_dropped_is_retried() -> None:
    async def drop_the_first(connection: Connection) -> None:
        await connection.read_request()
        if connection.server.requests == 1:
            connection.close()
            return
        await connection.answer_json(b'{"name": "app", "description": "", "tags": []}')

    async with RawServer(drop_the_first) as server, client(server) as pulse:
        with anyio.fail_after(10):
            info = await pulse.app.info()
    assert info.name == "app"
    assert server.requests == 2


async def test_a_stale_keep_alive_connection_is_retried_for_a_post() -> None:
    """The known safe case: a pooled connection the server closes as the next request
    arrives on it, without a byte of answer (a keep-alive timeout racing the request).
    The POST goes again, on a fresh connection."""

    async def keep_alive_once(connection: Connection) -> None:
        while await connection.read_request() is not None:
            if connection.requests == 2:  # the server is done with this connection
                connection.close()
                return
            await connection.answer_json()

    async with RawServer(keep_alive_once) as server, client(server) as pulse:
        with anyio.fail_after(10):
            first = await pulse.chat.send("one", user="u")
            second = await pulse.chat.send("two", user="u")  # on the pooled connection
    assert first.answer == second.answer == "ok"
    assert server.connections == 2
    assert server.requests == 3  # "two" went twice: once to the stale connection


async def test_a_stale_connection_on_a_fresh_connection_is_not_assumed() -> None:
    """The same close on a connection's first request is not stale: not re-sent."""
    async with RawServer(read_then_close) as server, client(server) as pulse:
        with anyio.fail_after(10), pytest.raises(pa.APIConnectionError) as caught:
            await pulse.chat.send("q", user="u")
    assert caught.value.stage == "sent"
    assert server.requests == 1


# --- uploads -------------------------------------------------------------------------


class Uploads:
    """An upload endpoint that answers 503 the first time; records each body it read."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/files/upload", self.upload)

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        part = form["file"]
        assert isinstance(part, web.FileField)
        self.bodies.append(part.file.read())
        if len(self.bodies) == 1:
            return web.json_response({"message": "busy"}, status=503)
        return web.json_response({"id": "f-1", "name": part.filename})


DATA = bytes(range(256)) * 64  # 16 KiB: fits in a pipe's buffer


@pytest.fixture
async def uploads(serve: Serve) -> tuple[Uploads, pa.AsyncPulse]:
    server = Uploads()
    url = await serve(server.app)
    return server, pa.AsyncPulse("app-k", base_url=url, retry_policy=FAST_RETRIES)


def pipe_with(data: bytes) -> io.BufferedReader:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return os.fdopen(read_end, "rb")


async def test_a_failed_upload_from_a_pipe_is_not_sent_again_truncated(
    uploads: tuple[Uploads, pa.AsyncPulse],
) -> None:
    server, pulse = uploads
    with pipe_with(DATA) as pipe:
        async with pulse:
            with anyio.fail_after(10), pytest.raises(pa.ServiceUnavailableError):
                await pulse.files.upload(("data.bin", pipe), user="u")
    assert server.bodies == [DATA]  # one whole body; no empty or truncated second one


async def test_a_failed_upload_from_an_async_stream_is_not_sent_again(
    uploads: tuple[Uploads, pa.AsyncPulse],
) -> None:
    class Chunks:
        """An async source that cannot rewind (a socket, a download)."""

        def __init__(self) -> None:
            self.left = DATA

        async def read(self, size: int = -1) -> bytes:
            await asyncio.sleep(0)
            chunk, self.left = self.left[:size], self.left[size:]
            return chunk

    server, pulse = uploads
    async with pulse:
        with anyio.fail_after(10), pytest.raises(pa.ServiceUnavailableError):
            await pulse.files.upload(("data.bin", Chunks()), user="u")
    assert server.bodies == [DATA]


async def test_a_failed_upload_from_a_seekable_file_is_retried_whole(
    uploads: tuple[Uploads, pa.AsyncPulse], tmp_path: Any
) -> None:
    server, pulse = uploads
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with path.open("rb") as handle:
        async with pulse:
            with anyio.fail_after(10):
                uploaded = await pulse.files.upload(handle, user="u")
    assert uploaded.id == "f-1"
    assert server.bodies == [DATA, DATA]
