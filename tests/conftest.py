"""Shared test set-up: every async test runs on asyncio (aiohttp needs it).

The `emulator` and `pulse` fixtures come from the package's own pytest plugin.
"""

from __future__ import annotations

import re
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from pulseai_async import RetryPolicy, ServerSentEvent

# A suite started in the background of a non-interactive shell (`pytest ... &` in a
# script, as CI runs two at once) inherits SIGINT ignored, and every CLI it starts would
# too: the Ctrl-C tests need the CLI to get SIGINT the way a terminal delivers it. (A
# handled signal is reset to the default in a child; an ignored one stays ignored.)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, jitter=0.0)

Serve = Callable[..., Awaitable[str]]
"""`await serve(app, ssl_context=None)` -> the base URL (`http(s)://127.0.0.1:PORT/v1`)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Runs purpose-built `aiohttp.web` apps on free loopback ports until the test ends."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        scheme = "http" if ssl_context is None else "https"
        return f"{scheme}://127.0.0.1:{runner.addresses[0][1]}/v1"

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


def checked_out(client) -> int:
    """Connections currently taken out of the client's pool."""
    connector = client.connector
    return 0 if connector is None else len(connector._acquired)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given points (taken modulo its length + 1), for re-chunking tests."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def spec_events(wire: bytes) -> list[ServerSentEvent]:
    """The WHATWG event-stream interpretation of a whole input, one line at a time: the
    oracle the SSE decoder is checked against."""
    if wire.startswith(b"\xef\xbb\xbf"):
        wire = wire[3:]
    *lines, _unterminated = re.split(rb"\r\n|\r|\n", wire)  # a last partial line never counts
    events: list[ServerSentEvent] = []
    data: list[bytes] = []
    name: str | None = None
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if not line:
            if data:
                events.append(ServerSentEvent(name or "message", b"\n".join(data), last_id, retry))
            data, name = [], None
            continue
        if line.startswith(b":"):
            continue
        field, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
        elif field == b"id" and b"\0" not in value:
            last_id = value.decode("utf-8", "replace")
        elif field == b"retry" and value.isdigit() and len(value) <= 18:  # absurd: ignored
            retry = int(value)
    return events
