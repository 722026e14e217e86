"""Nothing a server sends escapes as anything but a `PulseError`: absurd `Retry-After`
values and SSE `retry:` fields, then random status lines, headers and bodies written
byte for byte by a raw asyncio server, through blocking calls and streams."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pulseai_async as pa

from ..conftest import FAST_RETRIES
from .test_fuzz import FUZZ, json_values, sse_streams

pytestmark = pytest.mark.anyio

EXAMPLES = {"any response": 400, "any stream": 200}
"""Random responses per property."""

END = b'data: {"event": "message_end", "task_id": "t", "message_id": "m"}\n\n'
MESSAGE = b'data: {"event": "message", "answer": "hi", "task_id": "t", "message_id": "m"}\n\n'


class RawServer:
    """A loopback server that answers every request with `self.response`, byte for
    byte, then closes the connection; it counts the requests."""

    def __init__(self) -> None:
        self.response = b""
        self.hits = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.hits += 1
            writer.write(self.response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@asynccontextmanager
async def raw_server() -> AsyncIterator[RawServer]:
    server = RawServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def http(status: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [status, *(name + b": " + value for name, value in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- the values seen in the wild --------------------------------------------------------

ABSURD_RETRY_AFTER = [
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:60 GMT",
    "Sun, 00 Jan 0000 00:00:00 GMT",
    "nan",
    "inf",
    "-inf",
    "1e999",
    "-5",
    "soon",
]
"""None of these is a wait: each is ignored (the policy's own backoff applies), or 0."""


@pytest.mark.parametrize("value", [*ABSURD_RETRY_AFTER, "9" * 400])
async def test_an_absurd_retry_after_is_ignored(value: str) -> None:
    async with raw_server() as server:
        body = b'{"code": "not_found", "message": "gone", "status": 404}'
        server.response = http(
            b"HTTP/1.1 404 Not Found",
            [(b"Retry-After", value.encode()), (b"Content-Length", str(len(body)).encode())],
            body,
        )
        async with pa.AsyncPulse("app-key", base_url=server.base_url) as pulse:
            with anyio.fail_after(5), pytest.raises(pa.NotFoundError) as caught:
                await pulse.chat.send("hi", user="u")
        assert caught.value.retry_after is None or caught.value.retry_after >= 0


@pytest.mark.parametrize("value", ABSURD_RETRY_AFTER)
async def test_a_retried_status_with_an_absurd_retry_after_waits_the_usual_backoff(
    value: str,
) -> None:
    async with raw_server() as server:
        server.response = http(
            b"HTTP/1.1 503 Service Unavailable",
            [(b"Retry-After", value.encode()), (b"Content-Length", b"0")],
            b"",
        )
        async with pa.AsyncPulse(
            "app-key", base_url=server.base_url, retry_policy=FAST_RETRIES
        ) as pulse:
            started = time.monotonic()
            with anyio.fail_after(10), pytest.raises(pa.ServiceUnavailableError):
                await pulse.chat.send("hi", user="u")
        elapsed = time.monotonic() - started
    assert server.hits == 3
    assert elapsed < 3  # no wait taken from the absurd value


@pytest.mark.parametrize("digits", [19, 5_000, 100_000])
async def test_an_sse_retry_field_of_thousands_of_digits_is_ignored(digits: int) -> None:
    async with raw_server() as server:
        body = b"retry: " + b"9" * digits + b"\n\n" + MESSAGE + b"retry: 3000\n" + END
        server.response = http(
            b"HTTP/1.1 200 OK",
            [(b"Content-Type", b"text/event-stream"), (b"Content-Length", str(len(body)).encode())],
            body,
        )
        async with pa.AsyncPulse("app-key", base_url=server.base_url) as pulse:
            with anyio.fail_after(5):
                assert await pulse.chat.stream("hi", user="u").final_text() == "hi"
    decoder = pa.SSEDecoder()
    events = decoder.feed(b"retry: " + b"7" * digits + b"\ndata: x\n\n")
    assert events == [pa.ServerSentEvent("message", b"x", None, None)]


# --- anything at all ------------------------------------------------------------------------

tokens = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=30).map(
    lambda text: text.encode("latin-1")
)
statuses = st.one_of(
    st.sampled_from([b"200", b"204", b"301", b"302", b"404", b"429", b"500", b"503"]),
    st.integers(100, 999).map(lambda code: b"%d" % code),
    st.sampled_from([b"0", b"-1", b"2000", b"20x", b""]),
)
well_formed = st.builds(lambda code, reason: b"HTTP/1.1 " + code + b" " + reason, statuses, tokens)
status_lines = st.one_of(
    well_formed,
    well_formed,
    well_formed,
    st.builds(
        lambda version, status, reason: version + b" " + status + b" " + reason,
        st.sampled_from([b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 ", b"ICY", b"http/1.1"]),
        statuses,
        tokens,
    ),
    tokens,
)
media_types = st.sampled_from(
    [b"text/event-stream", b"text/event-stream; charset=utf-8", b"application/json",
     b"text/html", b"audio/wav", b"", b";;;", b"text/event-stream; charset=bogus",
     b"multipart/mixed; boundary=", b"\xff\xfe"]
)  # fmt: skip
header_values: dict[bytes, Any] = {
    b"Content-Type": media_types,
    b"Content-Length": st.one_of(
        st.just(b"exact"),
        st.just(b"exact"),
        st.integers(-5, 10**6).map(lambda n: b"%d" % n),
        tokens,
        st.just(b"9" * 40),
    ),
    b"Content-Encoding": st.sampled_from([b"gzip", b"deflate", b"br", b"zstd", b"x-bogus", b""]),
    b"Retry-After": st.one_of(
        st.sampled_from([v.encode() for v in ABSURD_RETRY_AFTER[:5]]),
        st.sampled_from([v.encode() for v in ABSURD_RETRY_AFTER]),
        tokens,
    ),
    b"Location": st.one_of(
        st.sampled_from([b"http://[::1", b"http://h:99999/", b"//x", b"https://u:p@h/p?q=1"]),
        tokens,
    ),
    b"X-Request-Id": tokens,
    b"Connection": st.sampled_from([b"close", b"keep-alive", b"upgrade"]),
}


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Each interesting header half the time (with a value good or bad), plus others."""
    chosen = [(name, draw(values)) for name, values in header_values.items() if draw(st.booleans())]
    others = st.tuples(tokens.filter(lambda name: b":" not in name), tokens)
    return chosen + draw(st.lists(others, max_size=2))


huge_retry = st.sampled_from([5_000, 50_000]).map(
    lambda n: b"retry: " + b"9" * n + b"\n\n" + MESSAGE + END
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(msgspec.json.encode),
    st.fixed_dictionaries({"code": json_values, "message": json_values, "status": json_values}).map(
        msgspec.json.encode
    ),
    sse_streams(),
    sse_streams().map(gzip.compress),
    st.binary(max_size=300).map(zlib.compress),
    huge_retry,
    st.just(MESSAGE + END),
    st.just(gzip.compress(MESSAGE + END)),
)

Call = Callable[[pa.AsyncPulse], Awaitable[Any]]
CALLS: list[Call] = [
    lambda pulse: pulse.chat.send("hi", user="u"),
    lambda pulse: pulse.request("GET", "/anything"),
    lambda pulse: pulse.conversations.delete("6bd6ba3e-4b5d-4c5a-9a4e-5d1ef5a1b2c3", user="u"),
    lambda pulse: pulse.chat.stream("hi", user="u").final_text(),
    lambda pulse: pulse.audio.text_to_audio("hi", user="u").read(),
]


def framed(
    header_list: list[tuple[bytes, bytes]], body: bytes, chunked: bool
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body, the body chunk-encoded if asked (a well-framed chunked body
    around whatever the body is); a Content-Length of `exact` becomes the body's length."""
    if chunked:
        header_list = [(k, v) for k, v in header_list if k != b"Content-Length"]
        header_list.append((b"Transfer-Encoding", b"chunked"))
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return [(k, b"%d" % len(body) if v == b"exact" else v) for k, v in header_list], body


async def only_sdk_errors(response: bytes, calls: list[Call]) -> None:
    async with raw_server() as server:
        server.response = response
        async with pa.AsyncPulse(
            "app-key", base_url=server.base_url, max_retries=0, timeout=2
        ) as pulse:
            for call in calls:
                with anyio.fail_after(10), suppress(pa.PulseError):
                    await call(pulse)


@settings(**FUZZ, max_examples=EXAMPLES["any response"])
@given(status=status_lines, header_list=headers(), body=bodies, chunked=st.booleans())
async def test_any_response_raises_only_sdk_errors(
    status: bytes, header_list: list[tuple[bytes, bytes]], body: bytes, chunked: bool
) -> None:
    await only_sdk_errors(http(status, *framed(header_list, body, chunked)), CALLS)


@settings(**FUZZ, max_examples=EXAMPLES["any stream"])
@given(header_list=headers(), body=bodies, chunked=st.booleans())
async def test_any_event_stream_raises_only_sdk_errors(
    header_list: list[tuple[bytes, bytes]], body: bytes, chunked: bool
) -> None:
    header_list = [(k, v) for k, v in header_list if k != b"Content-Type"]
    header_list.append((b"Content-Type", b"text/event-stream"))
    response = http(b"HTTP/1.1 200 OK", *framed(header_list, body, chunked))
    await only_sdk_errors(response, CALLS[3:4])
