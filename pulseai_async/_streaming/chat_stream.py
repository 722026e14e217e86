"""`ChatStream`: one streamed answer, as typed events and as accumulated state.

It is an async iterator and an async context manager. `async with` releases the
connection on exit whatever happened (break, exception, cancellation); plain
`async for` releases it on exhaustion, on error, or on `aclose()`. A stream read to
its end hands its connection back to the pool for the next request. `aclose()` or
`cancel()` from another task ends that task's iteration without an error.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any, Protocol

import msgspec

from .._errors import (
    PulseError,
    RateLimitError,
    StreamInterruptedError,
    StreamTextTooLargeError,
    StreamTimeoutError,
    make_stream_error,
)
from .._pipeline import StreamOpener
from .._transport import TRANSPORT_ERRORS
from .answer import ChatMessage, MessageMetadata, Usage
from .events import (
    AgentMessageEvent,
    ChatEvent,
    ErrorEvent,
    MessageEnd,
    MessageEvent,
    MessageReplace,
    Ping,
    TTSMessageEnd,
    WorkflowFinished,
    WorkflowPaused,
    decode_event,
    known_event_decoder,
)
from .response_stream import ResponseStream
from .sse import SSEDecoder

__all__ = ["ChatStream"]

_TEXT_EVENTS = (MessageEvent, AgentMessageEvent, MessageReplace)
_TERMINAL_EVENTS = (MessageEnd, WorkflowPaused, TTSMessageEnd)


class StopsGeneration(Protocol):
    """The chat resource: `cancel()` calls its `stop` with the stream's task id (the
    resource, not its bound `stop`, which would be one more object per open stream)."""

    def stop(self, task_id: str, *, user: str) -> Awaitable[None]: ...


class ChatStream(ResponseStream[ChatEvent]):
    """A streamed chat answer. Iterate it for typed events, or use the helpers."""

    def __init__(
        self,
        open_response: StreamOpener,
        chat: StopsGeneration,
        user: str,
    ) -> None:
        super().__init__(open_response)
        self._chat = chat
        self._user = user
        self._max_event_size = open_response.max_event_size
        self._max_text_length = open_response.max_text_length
        self._text_parts: list[str] = []
        self.task_id: str | None = None
        """Known from the first event; the input to `cancel()`."""
        self.message_id: str | None = None
        """The answer's message id, known from the first event."""
        self.conversation_id: str | None = None
        """The conversation's id, known from the first event (new for a new conversation)."""
        self.created_at: int | None = None
        """When the server created the answer (Unix seconds), from the first event."""
        self.metadata: MessageMetadata | None = None
        """Set by `message_end`: usage and retriever resources."""
        self.events_received = 0
        """How many events arrived so far (pings not counted)."""
        self.finished = False
        """True once the answer is complete: at `message_end` (which brings usage; on a
        chatflow it follows `workflow_finished`), or at the end of a stream whose
        `workflow_finished` no `message_end` followed."""
        self.workflow_status: str | None = None
        """A chatflow's final status, from `workflow_finished`: `succeeded`, `failed`,
        `stopped` (None on a plain chat app, or before it arrives). A failed run's
        `error` event, which follows it, is raised."""
        self._workflow_finished = False
        self.replaced = False
        """True if output moderation replaced the answer (`message_replace`)."""

    # --- iteration ------------------------------------------------------------------

    async def _iterate(self, *, deliver: bool = True) -> AsyncGenerator[ChatEvent, None]:
        """The events, observed as they come; `deliver=False` observes them without
        yielding each (`until_done()`: no generator round trip per event)."""
        response = await self._ensure_open()
        if response is None:
            return
        # Methods are called through their objects, not bound into locals once: each
        # bound method would be one more object for every open stream to hold, and
        # Python 3.11 calls `obj.method(...)` without making one.
        decoder = SSEDecoder(self._max_event_size)
        known = known_event_decoder()
        failure: StreamInterruptedError | None = None
        rearm = self._content if self._open_response.timeout.between_events else None
        # The text bound costs one addition per chunk, not a check per event: the text
        # can grow by at most one character per byte received, so it is measured only
        # once the bytes since the last measurement could have taken it past the bound.
        received = 0
        measure_at = self._max_text_length
        try:
            bounds = self._reading(response)
            while chunk := await bounds.read():
                bounds.waited()
                if self._closed:  # closed from another task; buffered bytes are not read
                    break
                if received > measure_at:
                    measure_at = received + self._text_room()
                received += len(chunk)
                for item in decoder.feed_data(chunk):
                    # The hot path, inlined: a plain `data:` event (every Dify event) is
                    # decoded in one call, and a text delta observed without a call.
                    event: ChatEvent
                    if type(item) is bytes:
                        try:
                            event = known.decode(item)
                        except (msgspec.DecodeError, RecursionError):  # deep nesting
                            event = decode_event(item)  # an unknown event, or a typed error
                    elif item.event == "ping":  # type: ignore[union-attr]
                        continue
                    else:
                        event = decode_event(item.data, item.event)  # type: ignore[union-attr]
                    if type(event) is MessageEvent and self.task_id is not None:
                        self.events_received += 1
                        self._text_parts.append(event.answer)
                    elif type(event) is Ping:
                        continue
                    else:
                        self._observe(event)
                    if rearm is not None:
                        rearm()
                    if deliver:
                        yield event
        except TRANSPORT_ERRORS as exc:
            exc.__traceback__ = None  # aiohttp keeps it on the response: no cycle via this frame
            if self._closed:  # closed by `aclose()` or `cancel()` in another task,
                self._end_quietly_or_raise()  # or by the client's `aclose()`
                return
            # raised below, outside this block: aiohttp's error is no part of the chain
            # (the read timeout is `BodyBounds`', raised as a `StreamTimeoutError`)
            failure = self._interrupted(f"the connection failed mid-stream: {exc}")
        except PulseError as exc:  # an error event, a malformed frame, an oversized event
            exc.partial_text = self.text
            if isinstance(exc, RateLimitError):  # an in-stream 429 closes the gate
                await self._open_response.on_rate_limit(exc)
            raise
        finally:
            self._body_done(response, sys.exc_info()[1] or failure)
        if failure is not None:
            try:
                raise failure
            finally:
                del failure  # the traceback holds this frame: no cycle through it
        if self._workflow_finished and not self.finished:
            self.finished = True  # a workflow_finished that no message_end followed
        if self._closed:
            self._end_quietly_or_raise()
        elif not self.finished:
            raise self._interrupted("the stream ended before its terminal event")

    def _timed_out(self, why: str, phase: str) -> StreamTimeoutError:
        return StreamTimeoutError(
            f"{why} (after {self.events_received} events)",
            partial_text=self.text,
            events_received=self.events_received,
            phase=phase,
        )

    def _partial(self) -> str:
        return self.text

    def _observe(self, event: ChatEvent) -> None:
        self.events_received += 1
        kind = type(event)
        if kind is MessageEvent or kind is AgentMessageEvent:
            self._text_parts.append(event.answer)  # type: ignore[union-attr]
        elif kind is MessageEnd:
            self.metadata = event.metadata  # type: ignore[union-attr]
            self.finished = True
        elif kind is MessageReplace:
            self._text_parts = [event.answer]  # type: ignore[union-attr]
            self.replaced = True
        elif kind is WorkflowFinished:
            self.workflow_status = event.data.status  # type: ignore[union-attr]
            self._workflow_finished = True
        elif kind is ErrorEvent:
            request = self._open_response.request
            raise make_stream_error(
                {"status": event.status, "code": event.code, "message": event.message},  # type: ignore[union-attr]
                self.request_id,
                headers=self.headers,
                method=request.method,
                path=request.path,
            )
        elif isinstance(event, _TERMINAL_EVENTS):
            self.finished = True
        if self.task_id is None:
            self._learn_ids(event)

    def _complete(self) -> bool:
        return self.finished or self._workflow_finished

    def _text_room(self) -> int:
        """How many more characters the text may grow by (compacting it into one
        string, so that even empty deltas cannot grow memory); raises past the bound."""
        parts = self._text_parts
        if len(parts) > 1:
            parts[:] = ["".join(parts)]
        room = self._max_text_length - (len(parts[0]) if parts else 0)
        if room < 0:
            raise StreamTextTooLargeError(self._max_text_length)
        return room

    def _learn_ids(self, event: Any) -> None:
        self._open_response.trace.first_event()
        self.task_id = getattr(event, "task_id", None)
        self.message_id = self.message_id or getattr(event, "message_id", None)
        self.conversation_id = self.conversation_id or getattr(event, "conversation_id", None)
        self.created_at = self.created_at or getattr(event, "created_at", None)

    def _interrupted(self, why: str) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"{why} (after {self.events_received} events)",
            partial_text=self.text,
            events_received=self.events_received,
        )

    async def aclose(self) -> None:
        """Close the stream and free its connection; an iteration in another task ends
        without an error. Safe to call more than once."""
        await super().aclose()

    async def cancel(self) -> bool:
        """Stop the generation on the server (Stop Generate) and close the stream.

        Returns whether a stop request was sent: it needs the `task_id`, which the first
        event carries (before it, the stream is only closed). Safe to call from another
        task while one is iterating: that task's iteration ends without an error.
        """
        task_id = None if self.finished else self.task_id
        self._closed = True  # from now on, the connection ending is no error
        try:
            if task_id is not None:
                await self._chat.stop(task_id, user=self._user)
        finally:
            await self.aclose()
        return task_id is not None

    # --- helpers --------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer accumulated so far."""
        return "".join(self._text_parts)

    @property
    def usage(self) -> Usage | None:
        """Token counts and prices, from `message_end` (None before it)."""
        return self.metadata.usage if self.metadata is not None else None

    async def text_deltas(self) -> AsyncIterator[str]:
        """The answer as it arrives, piece by piece.

        A `message_replace` (output moderation) yields its replacement text whole; use
        `text_snapshots()` to render exactly what `text` holds after every change.
        """
        async for event in self:
            if isinstance(event, _TEXT_EVENTS) and event.answer:
                yield event.answer

    async def text_snapshots(self) -> AsyncIterator[str]:
        """The whole answer so far, after every change to it."""
        async for event in self:
            if isinstance(event, _TEXT_EVENTS):
                yield self.text

    async def until_done(self) -> ChatStream:
        """Read the stream to its end; returns the stream for its accumulated state."""
        if self._iterator is None:  # nothing read yet: observe without handing out events
            self._iterator = self._iterate(deliver=False)
        async for _ in self:
            pass
        return self

    async def final_text(self) -> str:
        """Read to the end and return the complete answer."""
        return (await self.until_done()).text

    async def final_message(self) -> ChatMessage:
        """Read to the end and return the answer in the blocking response's shape."""
        await self.until_done()
        return ChatMessage(
            answer=self.text,
            conversation_id=self.conversation_id or "",
            message_id=self.message_id or "",
            id=self.message_id or "",
            task_id=self.task_id,
            event="message",
            metadata=self.metadata or MessageMetadata(),
            created_at=self.created_at,
        )

    def _header(self) -> str:
        state = "finished" if self.finished else ("closed" if self._closed else "open")
        return (
            f"ChatStream {state} conversation_id={self.conversation_id!r} "
            f"events={self.events_received}"
        )

    def __repr__(self) -> str:
        text = self.text
        shown = text if len(text) <= 200 else text[:200] + "..."
        return f"<{self._header()} text={shown!r}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython / Jupyter: the whole answer so far, under a one-line header."""
        header = f"<{self._header()}>"
        printer.text(header if cycle else f"{header}\n{self.text}")
