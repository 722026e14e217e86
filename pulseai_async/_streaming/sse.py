"""An I/O-free, push-based Server-Sent Events decoder over bytes (WHATWG rules).

Feed it chunks as they arrive; it returns the events completed by each chunk. It splits
on LF, CR and CRLF (a CR ending one chunk and the LF starting the next count once),
works on bytes so a UTF-8 character split across chunks and U+2028/U+2029/U+0085 inside
data are untouched, strips a leading BOM, skips comments and data-less blocks (Dify's
`event: ping`), and bounds one event's size.

It works a block (the lines up to a blank line) at a time: a read that is exactly one
`data: ` line and its blank line (how Dify flushes each event) is sliced out at once;
otherwise a chunk is split on blank lines in C, and a block that is one `data: ` line
(every Dify event) becomes an event without a Python-level look at its lines; any other
block goes through the full line-by-line rules. An incomplete block is kept as a list of
pieces that is joined only when a blank line arrives, so each byte is scanned a bounded
number of times and time is linear in the input, whatever the event's size.
"""

from __future__ import annotations

import msgspec

from .._config import DEFAULT_MAX_EVENT_SIZE
from .._errors import EventTooLargeError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
_PING = b"\n\nevent: ping\n\n"
"""A block without data (Dify's keep-alive) between two others: it dispatches nothing."""
_MAX_RETRY_DIGITS = 18
"""A longer `retry:` value (over 30 million years in ms) is ignored, not parsed: Python
refuses to convert integers of thousands of digits."""


class ServerSentEvent(msgspec.Struct, gc=False, repr_omit_defaults=True):
    """One dispatched event: its type, its data (lines joined by LF), and stream state."""

    event: str = "message"
    data: bytes = b""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes) -> list[ServerSentEvent]`.

    `max_event_size` bounds one event's data (its `data` lines joined); the raw bytes
    of an event still incomplete are bounded by twice that, so a peer that never ends
    an event (or only sends comments) cannot grow memory without limit.
    """

    __slots__ = (
        "_bom_pending",
        "_ends_lf",
        "_head",
        "_last_id",
        "_max_size",
        "_pending",
        "_pending_size",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be positive")
        self._max_size = max_event_size
        self._pending: list[bytes] = []  # the incomplete block, as received
        self._pending_size = 0
        self._ends_lf = False  # the pending block ends with a line end
        self._last_id: str | None = None
        self._retry: int | None = None
        self._skip_lf = False
        self._bom_pending = True
        self._head = b""

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    @property
    def has_pending(self) -> bool:
        """Whether an event was started but not completed (useful at end of stream)."""
        return bool(self._pending)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events this chunk completes."""
        return [
            ServerSentEvent("message", item) if type(item) is bytes else item  # type: ignore[misc]
            for item in self.feed_data(chunk)
        ]

    def feed_data(self, chunk: bytes) -> list[bytes | ServerSentEvent]:
        """Like `feed`, but a plain `message` event (no `event:` name, and no `id:` or
        `retry:` seen on the stream so far) comes as its data bytes alone: what a chat
        stream needs, without building an object per event."""
        pending = self._pending
        if (
            not pending
            and chunk.find(b"\n") == len(chunk) - 2  # its only line ends are its last two
            and chunk[-1] == 10
            and chunk[:6] == b"data: "
            and self._last_id is None
            and self._retry is None
            and not self._skip_lf
            and not self._bom_pending
            and b"\r" not in chunk
        ):  # one whole Dify event, as the server flushes each: its data, in one copy
            return [self._message(chunk[6:-2])]
        if self._bom_pending:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\r" in chunk:
            self._skip_lf = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[bytes | ServerSentEvent] = []
        start = 0  # where this chunk's unread bytes begin (offsets, not copies)
        if pending:
            # The pending block holds no blank line: one can only start in this chunk,
            # or be a line end left pending and one starting this chunk. (`in` with one
            # byte is a memchr, so a huge event costs next to nothing per chunk.)
            if self._ends_lf and chunk[0] == 10:
                end, skip = 0, 1
            elif b"\n" in chunk:
                end, skip = chunk.find(b"\n\n"), 2
            else:
                end, skip = -1, 0
            if end < 0:
                pending.append(chunk)
                self._ends_lf = chunk[-1] == 10
                self._pending_size += len(chunk)
                if self._pending_size > 2 * self._max_size:
                    self._fail()
                return events
            if end:
                pending.append(chunk[:end])
            elif skip == 1:  # the pending line end and this chunk's make the blank line
                pending[-1] = pending[-1][:-1]
            start = end + skip
            event = self._joined(pending)
            pending.clear()
            self._pending_size = 0
            if event is not None:
                events.append(event)
        end = chunk.rfind(b"\n\n", start)
        if end < 0:
            tail = chunk[start:] if start else chunk
        else:
            tail = chunk[end + 2 :]
            self._complete(chunk, start, end, events)
        if tail:
            pending.append(tail)
            self._ends_lf = tail[-1] == 10
            self._pending_size = len(tail)
            if self._pending_size > 2 * self._max_size:
                self._fail()
        return events

    def _complete(
        self, chunk: bytes, begin: int, end: int, events: list[bytes | ServerSentEvent]
    ) -> None:
        """Dispatch the complete blocks `chunk[begin:end]`.

        Split at every `\n\ndata: `, each piece is the data of a one-line `data:` block
        unless it holds a line end. When no piece does (every Dify event), that is the
        whole job, done in C, with one copy of the bytes (the split's); Dify's
        `event: ping` blocks (after the first answer token, then every 10 s) are dropped
        first, in C too. Otherwise the runs of such pieces are still taken whole: only
        the odd pieces between them go through the full rules, and the pieces after an
        `id:` or `retry:` do too.
        """
        if chunk.find(b"event: ping", begin, end) >= 0:  # Dify's keep-alive: dropped in C
            chunk = (b"\n\n" + chunk[begin:end] + b"\n\n").replace(_PING, b"\n\n")[2:-2]
            begin, end = 0, len(chunk)
            if not end:
                return
        # (`whole_first`: the first piece is whole blocks, not a `data: ` line's data)
        whole_first = not chunk.startswith(b"data: ", begin, end)
        pieces = chunk[begin if whole_first else begin + 6 : end].split(b"\n\ndata: ")
        plain = self._last_id is None and self._retry is None
        if plain and not whole_first:
            # (A join and a memchr cost a fraction of `count(b"\n")`, a byte-by-byte loop.)
            joined = b"".join(pieces)
            if b"\n" not in joined:
                if len(joined) >= self._max_size and max(map(len, pieces)) >= self._max_size:
                    self._fail()
                events += pieces
                return
        odd = [i for i, piece in enumerate(pieces) if b"\n" in piece or (whole_first and not i)]
        start = 0
        for i in odd:
            if self._last_id is not None or self._retry is not None:
                break  # no longer plain: the rest goes through the full rules
            self._take(pieces, start, i, events)
            self._blocks(self._piece_blocks(pieces, i, whole_first), events)
            start = i + 1
        if self._last_id is None and self._retry is None:
            self._take(pieces, start, len(pieces), events)
            return
        for i in range(start, len(pieces)):
            self._blocks(self._piece_blocks(pieces, i, whole_first), events)

    @staticmethod
    def _piece_blocks(pieces: list[bytes], i: int, whole_first: bool) -> bytes:
        """Piece `i` as the blocks it came from (the split took each one's `data: `,
        except from a first piece of whole blocks)."""
        return pieces[i] if whole_first and not i else b"data: " + pieces[i]

    def _blocks(self, blocks: bytes, events: list[bytes | ServerSentEvent]) -> None:
        """Dispatch the blocks `blocks` holds, by the full rules."""
        for block in blocks.split(b"\n\n"):
            event = self._one(block)
            if event is not None:
                events.append(event)

    def _take(
        self, pieces: list[bytes], start: int, stop: int, events: list[bytes | ServerSentEvent]
    ) -> None:
        """Dispatch `pieces[start:stop]`, each the data of a one-line `data:` block, as
        they are (the stream is plain)."""
        if start < stop:
            run = pieces[start:stop]
            if max(map(len, run)) >= self._max_size:
                self._fail()
            events += run

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._head + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._head = head
            return b""
        self._bom_pending = False
        self._head = b""
        return head[3:] if head.startswith(_BOM) else head

    def _joined(self, pieces: list[bytes]) -> bytes | ServerSentEvent | None:
        """The event of a block that came in pieces. A one-line `data:` block (a large
        Dify event) is joined without its prefix, so its data is copied only once."""
        head = pieces[0]
        if head[:6] != b"data: ":
            return self._one(b"".join(pieces))
        pieces[0] = head[6:]
        data = b"".join(pieces)
        if b"\n" in data:
            return self._one(b"data: " + data)
        return self._message(data)

    def _one(self, block: bytes) -> bytes | ServerSentEvent | None:
        if block[:6] == b"data: " and b"\n" not in block:
            return self._message(block[6:])
        return self._block(block)

    def _message(self, data: bytes) -> bytes | ServerSentEvent:
        """The event of a one-line `data:` block: its bytes alone while the stream is plain."""
        if len(data) >= self._max_size:
            self._fail()
        if self._last_id is None and self._retry is None:
            return data
        return ServerSentEvent("message", data, self._last_id, self._retry)

    def _block(self, block: bytes) -> ServerSentEvent | None:
        """The full rules for one block: its lines, then the blank line that ended it."""
        event: ServerSentEvent | None = None
        name: str | None = None
        data: list[bytes] = []
        size = 0
        for line in [*block.split(b"\n"), b""]:
            if not line:  # a blank line dispatches (a leading one dispatches nothing)
                if data:
                    joined = data[0] if len(data) == 1 else b"\n".join(data)
                    event = ServerSentEvent(name or "message", joined, self._last_id, self._retry)
                    data = []
                    size = 0
                name = None
                continue
            if line[0] == 58:  # ":" starts a comment
                continue
            field, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data.append(value)
                size += len(value) + 1
                if size > self._max_size:
                    self._fail()
            elif field == b"event":
                name = value.decode("utf-8", "replace")
            elif field == b"id":
                if b"\0" not in value:
                    self._last_id = value.decode("utf-8", "replace")
            elif field == b"retry" and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
                self._retry = int(value)
        return event

    def _fail(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        raise EventTooLargeError(self._max_size)
