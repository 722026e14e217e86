"""The SSE decoder: WHATWG framing at every chunk boundary, and re-chunking invariance."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulseai_async import EventTooLargeError, ServerSentEvent, SSEDecoder

from .conftest import split

E = ServerSentEvent
UNICODE = "héllo 世界 🎉 \u2028 \u2029 \u0085 end"

# (name, the bytes on the wire, the events a spec-correct parser dispatches)
CASES: list[tuple[str, bytes, list[ServerSentEvent]]] = [
    (
        "dify",
        b'data: {"event":"message","answer":"hi"}\n\n',
        [E(data=b'{"event":"message","answer":"hi"}')],
    ),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [E(data=b"a"), E(data=b"b")]),
    ("cr", b"data: a\r\rdata: b\r\r", [E(data=b"a"), E(data=b"b")]),
    ("mixed", b"data: a\r\n\rdata: b\n\r\n", [E(data=b"a"), E(data=b"b")]),
    ("multiline", b"data: one\ndata: two\ndata:\n\n", [E(data=b"one\ntwo\n")]),
    ("comments", b": keep-alive\ndata: x\n: more\n\n", [E(data=b"x")]),
    ("ping skipped", b"event: ping\n\ndata: x\n\n", [E(data=b"x")]),
    (
        "event name reset",
        b"event: custom\ndata: 1\n\ndata: 2\n\n",
        [E(event="custom", data=b"1"), E(data=b"2")],
    ),
    ("bom", b"\xef\xbb\xbfdata: x\n\n", [E(data=b"x")]),
    ("utf8 and separators", b"data: " + UNICODE.encode() + b"\n\n", [E(data=UNICODE.encode())]),
    ("no space", b"data:x\n\n", [E(data=b"x")]),
    ("two spaces", b"data:  x\n\n", [E(data=b" x")]),
    ("bare field", b"data\n\n", [E(data=b"")]),
    ("unknown field", b"foo: bar\ndata: x\n\n", [E(data=b"x")]),
    (
        "id and retry",
        b"id: 7\nretry: 1500\ndata: x\n\ndata: y\n\n",
        [E(data=b"x", id="7", retry=1500), E(data=b"y", id="7", retry=1500)],
    ),
    ("id with NUL ignored", b"id: a\x00b\ndata: x\n\n", [E(data=b"x")]),
    ("bad retry ignored", b"retry: soon\ndata: x\n\n", [E(data=b"x")]),
    ("incomplete tail", b"data: done\n\ndata: never dispatched\n", [E(data=b"done")]),
]


def feed_all(chunks: list[bytes], **kwargs) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


@pytest.mark.parametrize(("wire", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_single_split_point(wire: bytes, expected: list[ServerSentEvent]) -> None:
    for cut in range(len(wire) + 1):
        assert feed_all([wire[:cut], wire[cut:]]) == expected, f"split at {cut}"


@pytest.mark.parametrize(("wire", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_pair_of_split_points(wire: bytes, expected: list[ServerSentEvent]) -> None:
    for a in range(len(wire) + 1):
        for b in range(a, len(wire) + 1):
            assert feed_all([wire[:a], wire[a:b], wire[b:]]) == expected, f"splits {a}, {b}"


@pytest.mark.parametrize(("wire", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_byte_chunks(wire: bytes, expected: list[ServerSentEvent]) -> None:
    assert feed_all([wire[i : i + 1] for i in range(len(wire))]) == expected


def test_cr_at_end_of_chunk_and_lf_at_start_of_next_is_one_line_end() -> None:
    assert feed_all([b"data: a\r", b"\n", b"\r", b"\ndata: b\n\n"]) == [E(data=b"a"), E(data=b"b")]


def test_bom_only_stripped_at_the_start() -> None:
    events = feed_all([b"\xef\xbb", b"\xbfdata: x\n\ndata: \xef\xbb\xbfy\n\n"])
    assert events == [E(data=b"x"), E(data=b"\xef\xbb\xbfy")]


def test_pending_event_is_reported() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: half")
    assert decoder.has_pending
    decoder.feed(b"\n\n")
    assert not decoder.has_pending


def test_event_over_the_bound_raises_a_typed_error() -> None:
    decoder = SSEDecoder(max_event_size=1024)
    decoder.feed(b"data: " + b"x" * 1000 + b"\n")
    with pytest.raises(EventTooLargeError, match="1024"):
        decoder.feed(b"data: " + b"y" * 100 + b"\n\n")


def test_unterminated_line_over_the_bound_raises_without_growing() -> None:
    decoder = SSEDecoder(max_event_size=4096)
    with pytest.raises(EventTooLargeError):
        for _ in range(100):
            decoder.feed(b"z" * 1000)


def test_events_under_the_bound_pass() -> None:
    payload = b"x" * 4000
    assert feed_all([b"data: " + payload + b"\n\n"], max_event_size=4096) == [E(data=payload)]


def test_large_event_in_small_chunks_is_exact() -> None:
    payload = bytes(range(32, 127)) * 20_000  # ~1.9 MB, one event
    wire = b"data: " + payload + b"\n\n"
    chunks = [wire[i : i + 4096] for i in range(0, len(wire), 4096)]
    assert feed_all(chunks) == [E(data=payload)]


frames = st.lists(
    st.tuples(
        st.sampled_from([None, "message", "ping", "custom"]),
        st.lists(
            st.text(
                alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
                max_size=20,
            ),
            max_size=3,
        ),
        st.sampled_from([b"\n", b"\r", b"\r\n"]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(frames=frames, cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_rechunking_never_changes_the_events(frames, cuts) -> None:
    wire = b""
    for event, data_lines, eol in frames:
        if event is not None:
            wire += b"event: " + event.encode() + eol
        for line in data_lines:
            wire += b"data: " + line.encode() + eol
        wire += eol
    whole = feed_all([wire])
    assert feed_all(split(wire, cuts)) == whole
    assert feed_all([wire[i : i + 1] for i in range(len(wire))]) == whole
