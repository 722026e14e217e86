"""Bad input from the server, fuzzed: arbitrary bytes and arbitrary SSE frames go through
the decoder, and through a real stream served by a purpose-built aiohttp.web app, and
nothing but the SDK's own exceptions ever comes out. Well-formed frames, however they
are split and whatever their line endings, decode exactly as the SSE standard says."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pulseai_async as pa
from pulseai_async._config import DEFAULT_MAX_EVENT_SIZE
from pulseai_async._streaming.events import decode_event

from ..conftest import Serve, spec_events, split

pytestmark = pytest.mark.anyio

BOM = b"\xef\xbb\xbf"
EXAMPLES = {"bytes": 1500, "frames": 1000, "chunking": 1000, "stream": 300, "chat": 300}
"""Examples per property (the report quotes these figures)."""

FUZZ: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


# --- strategies ---------------------------------------------------------------------------

line_endings = st.sampled_from([b"\n", b"\r", b"\r\n"])
text_values = st.binary(max_size=40).map(lambda b: re.sub(rb"[\r\n]", b"", b))


@st.composite
def field_lines(draw: st.DrawFn) -> bytes:
    """One SSE line of any kind, valid or not (never containing a line break)."""
    name = draw(
        st.sampled_from([b"data", b"event", b"id", b"retry", b"", b"comment", b"dat", b"DATA"])
    )
    if name == b"comment":
        return b":" + draw(text_values)
    if name == b"retry":
        value = draw(st.one_of(st.integers(0, 10**6).map(lambda n: str(n).encode()), text_values))
    elif name == b"data":
        value = draw(st.one_of(text_values, json_values.map(compact)))
    else:
        value = draw(text_values)
    separator = draw(st.sampled_from([b":", b": ", b":  ", b""]))
    return name + separator + value


def compact(obj: Any) -> bytes:
    return msgspec.json.encode(obj)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=5,
)
event_names = st.sampled_from(
    ["message", "message_end", "error", "ping", "agent_message", "message_replace",
     "workflow_finished", "agent_thought", "tts_message", "brand_new_event", ""]
)  # fmt: skip


@st.composite
def event_objects(draw: st.DrawFn) -> dict[str, Any]:
    """A chat event with plausible or wrong field types."""
    obj: dict[str, Any] = {"event": draw(event_names)}
    fields = st.sampled_from(
        ["answer", "conversation_id", "message_id", "task_id", "created_at", "metadata",
         "status", "code", "message", "data", "id", "audio"]
    )  # fmt: skip
    for _ in range(draw(st.integers(0, 4))):
        obj[draw(fields)] = draw(json_values)
    return obj


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(500, 5_000))
    inner = b"[" * depth + b"]" * depth
    return b'{"event": "' + draw(event_names).encode() + b'", "answer": ' + inner + b"}"


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """A stream of frames: any field lines, real-looking events, pings, junk."""
    parts: list[bytes] = [BOM] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["lines"] * 3 + ["event"] * 3 + ["ping", "junk", "deep"]))
        if kind == "lines":
            lines = draw(st.lists(field_lines(), max_size=5))
            parts.append(b"".join(line + draw(line_endings) for line in lines))
        elif kind == "event":
            encode = draw(st.sampled_from([compact, lambda o: json.dumps(o).encode()]))
            parts.append(b"data: " + encode(draw(event_objects())) + draw(line_endings))
        elif kind == "ping":
            parts.append(b"event: ping" + draw(line_endings))
        elif kind == "deep":
            parts.append(b"data: " + draw(deep_nesting()) + b"\n")
        else:
            parts.append(draw(st.binary(max_size=60)))
        parts.append(draw(line_endings))
    return b"".join(parts)


def decode_all(chunks: list[bytes], limit: int = DEFAULT_MAX_EVENT_SIZE) -> list[Any]:
    decoder = pa.SSEDecoder(limit)
    return [event for chunk in chunks for event in decoder.feed(chunk)]


# --- the decoder alone --------------------------------------------------------------------


@settings(**FUZZ, max_examples=EXAMPLES["bytes"])
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=20),
       limit=st.sampled_from([1, 16, 256, 16 * 1024 * 1024]))  # fmt: skip
def test_arbitrary_bytes_raise_nothing_but_sdk_errors(
    data: bytes, cuts: list[int], limit: int
) -> None:
    decoder = pa.SSEDecoder(limit)
    too_large: pa.EventTooLargeError | None = None
    try:
        for chunk in split(data, cuts):
            for event in decoder.feed(chunk):
                with contextlib.suppress(pa.ResponseDecodeError):
                    decode_event(event.data, event.event)
    except pa.EventTooLargeError as exc:
        too_large = exc
    assert too_large is None or too_large.limit == limit


@settings(**FUZZ, max_examples=EXAMPLES["frames"])
@given(stream=sse_streams(), cuts=st.lists(st.integers(0, 10**6), max_size=30))
def test_arbitrary_frames_decode_as_the_standard_says(stream: bytes, cuts: list[int]) -> None:
    chunks = split(stream, cuts)
    assert decode_all(chunks) == spec_events(stream)
    for event in decode_all(chunks):
        try:
            decoded = decode_event(event.data, event.event)
        except pa.ResponseDecodeError:
            continue
        assert isinstance(decoded, pa.Event | pa.UnknownEvent)


@settings(**FUZZ, max_examples=EXAMPLES["chunking"])
@given(data=st.binary(max_size=400).map(lambda b: b.replace(b"x", b"\r")),
       cuts=st.lists(st.integers(0, 400), max_size=40))  # fmt: skip
def test_how_the_bytes_are_split_never_matters(data: bytes, cuts: list[int]) -> None:
    assert decode_all(split(data, cuts)) == decode_all([data]) == spec_events(data)


def nesting(value: object) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth + isinstance(value, list)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_decodes_whole_or_is_a_decode_error(depth: int) -> None:
    """How deep a document decodes depends on the interpreter's recursion limit (3.11
    stops before 1,000 levels, 3.12 and 3.13 do not); the promise is the same: either
    the event whole, or a `ResponseDecodeError`, never a `RecursionError`."""
    data = b'{"event": "brand_new", "x": ' + b"[" * depth + b"]" * depth + b"}"
    try:
        event = decode_event(data)
    except pa.ResponseDecodeError:
        return
    assert isinstance(event, pa.UnknownEvent) and event.event == "brand_new"
    assert nesting(event.data["x"]) == depth


# --- the same through a real HTTP stream ----------------------------------------------------


class Script:
    """What the purpose-built server sends next: chunks of a body, with headers."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.headers: dict[str, str] = {"Content-Type": "text/event-stream"}


@pytest.fixture
async def script_server(serve: Serve) -> tuple[Script, str]:
    script = Script()

    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=script.headers)
        await response.prepare(request)
        for chunk in script.chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", respond)
    return script, await serve(app)


async def consume(base_url: str) -> pa.ChatStream:
    async with (
        pa.AsyncPulse("app-fuzz", base_url=base_url, max_retries=0, timeout=2) as pulse,
        pulse.chat.stream("q", user="u") as stream,
    ):
        async for _ in stream:
            pass
    return stream


@settings(**FUZZ, max_examples=EXAMPLES["stream"])
@given(stream=st.one_of(sse_streams(), st.binary(max_size=2000)),
       cuts=st.lists(st.integers(0, 10**6), max_size=10))  # fmt: skip
async def test_a_real_stream_of_anything_raises_only_sdk_errors(
    script_server: tuple[Script, str], stream: bytes, cuts: list[int]
) -> None:
    script, base_url = script_server
    script.chunks = split(stream, cuts)
    with anyio.fail_after(5):
        try:
            result = await consume(base_url)
        except pa.PulseError as exc:
            failure: pa.PulseError | None = exc
        else:
            failure = None
    if failure is None:
        assert result.finished  # a stream only ends cleanly at a terminal event
    else:
        assert failure.partial_text is not None  # mid-stream errors carry the text so far


@st.composite
def chat_streams(draw: st.DrawFn) -> tuple[bytes, str]:
    """A well-formed chat answer in any server style: (bytes, the answer's text)."""
    deltas = draw(st.lists(st.text(max_size=12), max_size=15))
    encode: Callable[[Any], bytes] = draw(
        st.sampled_from([compact, lambda o: json.dumps(o).encode()])
    )
    ending = draw(line_endings)
    envelope = {"conversation_id": "c", "message_id": "m", "created_at": 1, "task_id": "t"}
    frames = [b"event: ping" + ending] if draw(st.booleans()) else []
    for index, delta in enumerate(deltas):
        frame = b"data: " + encode({"event": "message", "answer": delta, **envelope}) + ending
        if draw(st.booleans()):
            frame = f"id: 1-{index}".encode() + ending + frame
        frames.append(frame)
        if draw(st.integers(0, 9)) == 0:
            frames.append(b": keep-alive" + ending + ending + b"event: ping" + ending)
    frames.append(b"data: " + encode({"event": "message_end", **envelope}) + ending)
    body = (BOM if draw(st.booleans()) else b"") + ending.join(frames) + ending
    return body, "".join(deltas)


@settings(**FUZZ, max_examples=EXAMPLES["chat"])
@given(chat=chat_streams(), cuts=st.lists(st.integers(0, 10**6), max_size=20))
async def test_well_formed_streams_give_the_exact_text_however_delivered(
    script_server: tuple[Script, str], chat: tuple[bytes, str], cuts: list[int]
) -> None:
    script, base_url = script_server
    body, text = chat
    script.chunks = split(body, cuts)
    with anyio.fail_after(5):
        stream = await consume(base_url)
    assert stream.finished and stream.text == text


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}, b"not gzip at all"),
        ({"Content-Type": "text/html"}, b"<html>maintenance</html>"),
        ({"Content-Type": "application/json"}, b'{"event": "message", "answer": "x"}'),
    ],
)
async def test_wrong_http_framing_is_an_sdk_error(
    script_server: tuple[Script, str], headers: dict[str, str], body: bytes
) -> None:
    script, base_url = script_server
    script.headers, script.chunks = headers, [body]
    with anyio.fail_after(5), pytest.raises(pa.PulseError):
        await consume(base_url)
