"""An I/O-free, push-based Server-Sent Events decoder over bytes (WHATWG rules).

Feed it chunks as they arrive; it returns the events completed by each chunk. It splits
on LF, CR and CRLF (a CR ending one chunk and the LF starting the next count once),
works on bytes so a UTF-8 character split across chunks and U+2028/U+2029/U+0085 inside
data are untouched, strips a leading BOM, skips comments and data-less blocks (Dify's
`event: ping`), and bounds one event's size. Each byte is scanned once: a partial line
is appended to, never re-searched, so time is linear in the input.
"""

from __future__ import annotations

import msgspec

from ._config import DEFAULT_MAX_EVENT_SIZE
from ._errors import EventTooLargeError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(msgspec.Struct, gc=False, repr_omit_defaults=True):
    """One dispatched event: its type, its data (lines joined by LF), and stream state."""

    event: str = "message"
    data: bytes = b""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes) -> list[ServerSentEvent]`."""

    __slots__ = (
        "_bom_pending",
        "_data",
        "_data_size",
        "_event",
        "_head",
        "_last_id",
        "_max_size",
        "_partial",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be positive")
        self._max_size = max_event_size
        self._partial = bytearray()
        self._data: list[bytes] = []
        self._data_size = 0
        self._event: str | None = None
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
        return bool(self._partial or self._data)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
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
        lines = chunk.split(b"\n")
        tail = lines.pop()
        events: list[ServerSentEvent] = []
        if lines:
            if self._partial:
                self._partial += lines[0]
                lines[0] = bytes(self._partial)
                self._partial.clear()
            for line in lines:
                if line[:6] == b"data: ":
                    self._add_data(line[6:])
                elif not line:
                    if self._data:
                        events.append(self._dispatch())
                    else:
                        self._event = None
                else:
                    self._field(line)
        if tail:
            self._partial += tail
            if len(self._partial) + self._data_size > self._max_size:
                self._fail()
        return events

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._head + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._head = head
            return b""
        self._bom_pending = False
        self._head = b""
        return head[3:] if head.startswith(_BOM) else head

    def _add_data(self, value: bytes) -> None:
        self._data.append(value)
        self._data_size += len(value) + 1
        if self._data_size > self._max_size:
            self._fail()

    def _field(self, line: bytes) -> None:
        if line[0] == 58:  # ":" starts a comment
            return
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._add_data(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        event = ServerSentEvent(self._event or "message", data, self._last_id, self._retry)
        self._data = []
        self._data_size = 0
        self._event = None
        return event

    def _fail(self) -> None:
        self._partial.clear()
        self._data = []
        self._data_size = 0
        raise EventTooLargeError(self._max_size)
