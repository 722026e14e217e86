"""The decoder's block-at-a-time fast path dispatches exactly what the WHATWG rules say.

A literal, line-by-line reading of the spec is the oracle; random streams mix Dify's
one-line `data:` events with everything that must leave the fast path (pings, names,
ids, retries, comments, multi-line data, extra blank lines, CR and CRLF), cut anywhere.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulseai_async import EventTooLargeError, ServerSentEvent, SSEDecoder

from .conftest import spec_events, split

text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12
)
special = st.one_of(
    st.just(b"event: ping\n\n"),
    st.builds(lambda t: b"event: " + t.encode() + b"\n", text),
    st.builds(lambda t: b"id: " + t.encode() + b"\n", text),
    st.builds(lambda n: b"retry: %d\n" % n, st.integers(0, 9999)),
    st.builds(lambda t: b": " + t.encode() + b"\n", text),
    st.builds(lambda t: b"data:" + t.encode() + b"\n", text),
    st.just(b"\n"),
)
plain = st.builds(lambda t: b"data: " + t.encode() + b"\n\n", text)
wires = st.lists(st.one_of(plain, plain, plain, special), max_size=30).map(b"".join)


def feed(chunks: list[bytes], size: int = 1 << 20) -> list[ServerSentEvent]:
    decoder = SSEDecoder(size)
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


@settings(max_examples=400, deadline=None)
@given(
    wire=wires,
    eol=st.sampled_from([b"\n", b"\r", b"\r\n"]),
    cuts=st.lists(st.integers(0, 5000), max_size=8),
)
def test_any_stream_cut_anywhere_matches_the_spec(wire: bytes, eol: bytes, cuts: list[int]) -> None:
    wire = wire.replace(b"\n", eol)
    assert feed(split(wire, cuts)) == spec_events(wire)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(plain, plain, special, st.just(b"\xef\xbb\xbf")), max_size=30),
    eol=st.sampled_from([b"\n", b"\r", b"\r\n"]),
)
def test_a_stream_read_one_block_at_a_time_matches_the_spec(parts: list[bytes], eol: bytes) -> None:
    # Dify flushes each event on its own, so most reads are exactly one `data:` block
    # (the decoder's one-event path); ids, retries, names, CRs and a BOM (stripped at
    # the start of the stream only) must still count.
    chunks = [part.replace(b"\n", eol) for part in parts]
    assert feed(chunks) == spec_events(b"".join(chunks))


def test_a_one_event_read_at_the_size_bound_raises() -> None:
    decoder = SSEDecoder(4096)
    decoder.feed(b"data: first\n\n")  # (the first read also looks for a BOM)
    assert decoder.feed(b"data: " + b"x" * 4095 + b"\n\n") == [ServerSentEvent(data=b"x" * 4095)]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: " + b"x" * 4096 + b"\n\n")


def test_a_ping_between_dify_events_in_one_read_keeps_every_event() -> None:
    wire = b'data: {"a":1}\n\nevent: ping\n\ndata: {"b":2}\n\ndata: {"c":3}\n\n'
    assert [e.data for e in feed([wire])] == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


def test_an_id_mid_read_applies_to_the_events_after_it_only() -> None:
    wire = b"data: 1\n\nid: 7\ndata: 2\n\ndata: 3\n\n"
    assert feed([wire]) == [
        ServerSentEvent(data=b"1"),
        ServerSentEvent(data=b"2", id="7"),
        ServerSentEvent(data=b"3", id="7"),
    ]


def test_an_oversized_event_among_small_ones_in_one_read_raises() -> None:
    wire = b"data: ok\n\ndata: " + b"x" * 5000 + b"\n\ndata: ok\n\n"
    with pytest.raises(EventTooLargeError):
        SSEDecoder(4096).feed(wire)


def test_feed_data_gives_plain_events_as_bytes_until_an_id_appears() -> None:
    decoder = SSEDecoder()
    first = decoder.feed_data(b"data: a\n\nevent: custom\ndata: b\n\nid: 1\ndata: c\n\n")
    assert first == [
        b"a",
        ServerSentEvent(event="custom", data=b"b"),
        ServerSentEvent(data=b"c", id="1"),
    ]
