"""Hostile servers that `aiohttp.web` cannot play: raw asyncio sockets on loopback.

`RawServer(handler)` runs `handler(connection)` for each accepted connection and counts
connections and requests; `unconnectable()` gives a port whose connects never finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

OK_JSON = b'{"event": "message", "answer": "ok", "conversation_id": "", "message_id": ""}'


class Connection:
    """One accepted connection: read whole requests, write raw bytes."""

    def __init__(
        self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.requests = 0
        """Requests read whole on this connection so far."""

    async def read_request(self) -> bytes | None:
        """The next request's head and body (by Content-Length); None at EOF."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        self.requests += 1
        self.server.requests += 1
        return head + body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer_json(self, body: bytes = OK_JSON, *, keep_alive: bool = True) -> None:
        connection = b"keep-alive" if keep_alive else b"close"
        await self.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: %s\r\n\r\n%s" % (len(body), connection, body)
        )

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[Connection], Awaitable[None]]


class RawServer:
    """`async with RawServer(handler) as server:` serves on `server.base_url`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        self.requests = 0

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handler(Connection(self, reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: what a hostile server shrugs off
        except asyncio.CancelledError:
            pass  # the server is shutting down (asyncio logs a cancelled handler task)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


@contextlib.contextmanager
def unconnectable() -> Iterator[str]:
    """A base URL on loopback whose connects hang, like an unroutable address: a
    listening socket that never accepts, its backlog already full (Linux then drops
    further SYNs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)  # the fillers' handshakes complete into the backlog
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for sock in [*fillers, listener]:
            sock.close()
