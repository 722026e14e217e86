"""`pulse.audio`: Speech to Text (an upload) and Text to Audio (streamed audio bytes).

`TextToAudio` is like a chat stream for bytes: nothing is sent until it is used, it is
an async iterator of chunks and an async context manager, and it hands its connection
back (or closes it) whatever happens: exhaustion, `break`, an exception, cancellation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncGenerator
from typing import Unpack

import anyio

from .._errors import (
    PulseValidationError,
    ResponseTooLargeError,
    StreamInterruptedError,
    StreamTimeoutError,
)
from .._options import RequestOptions
from .._pipeline import StreamOpener
from .._resource import Resource
from .._streaming.response_stream import ResponseStream
from .._transport import TRANSPORT_ERRORS
from .._uploads import FileInput
from .._validation import check_text, optional_bool, optional_text, optional_uuid, present
from .models import Transcription

__all__ = ["Audio", "TextToAudio"]

TEXT_TO_AUDIO_V2 = "/text-to-audio/20250114"
CHUNK_SIZE = 64 * 1024


class TextToAudio(ResponseStream[bytes]):
    """Synthesised speech, streamed: `async for chunk in audio` yields bytes as they
    arrive; `await audio.write_to(path)` saves them; `await audio.read()` returns all.

    One pass only: the audio is not buffered. `content_type` (`audio/wav`,
    `audio/mpeg`, ...) and `request_id` are known once the response has started.
    """

    _chunk_size = CHUNK_SIZE

    def __init__(self, open_response: StreamOpener) -> None:
        super().__init__(open_response)
        self._max_read_size = open_response.max_response_size
        self.bytes_received = 0

    def _timed_out(self, why: str, phase: str) -> StreamTimeoutError:
        return StreamTimeoutError(f"{why} (after {self.bytes_received} bytes)", phase=phase)

    @property
    def content_type(self) -> str | None:
        """The audio's media type (`audio/wav`, `audio/mpeg`, ...), once it has started."""
        return self._response.content_type if self._response is not None else None

    async def _iterate(self) -> AsyncGenerator[bytes, None]:
        response = await self._ensure_open()
        if response is None:
            return
        failure: StreamInterruptedError | None = None
        rearm = self._content if self._open_response.timeout.between_events else None
        try:
            bounds = self._reading(response)
            while chunk := await bounds.read():
                bounds.waited()
                if self._closed:  # closed from another task; buffered bytes are not read
                    break
                self.bytes_received += len(chunk)
                if rearm is not None:
                    rearm()
                yield chunk
        except TRANSPORT_ERRORS as exc:
            exc.__traceback__ = None  # aiohttp keeps it on the response: no cycle via this frame
            if self._closed:  # closed by `aclose()` in another task, or by the client's
                self._end_quietly_or_raise()
                return
            # raised below, outside this block: aiohttp's error is no part of the chain
            # (the read timeout is `BodyBounds`', raised as a `StreamTimeoutError`)
            failure = StreamInterruptedError(
                f"the audio stream broke after {self.bytes_received} bytes: {exc}"
            )
        finally:
            self._body_done(response, sys.exc_info()[1] or failure)
        if self._closed:
            self._end_quietly_or_raise()
        if failure is not None:
            try:
                raise failure
            finally:
                del failure  # the traceback holds this frame: no cycle through it

    def _complete(self) -> bool:
        response = self._response
        return response is not None and response.content.at_eof()

    async def read(self) -> bytes:
        """All the audio in memory (fine for short texts; prefer `write_to`), up to
        `max_response_size` bytes: more raises `ResponseTooLargeError`."""
        chunks: list[bytes] = []
        async with self:
            async for chunk in self:
                chunks.append(chunk)
                if self.bytes_received > self._max_read_size:
                    raise ResponseTooLargeError(
                        f"the audio is larger than max_response_size ({self._max_read_size}"
                        " bytes): stream it with `async for` or `write_to()` instead",
                        limit=self._max_read_size,
                        status=self._response.status if self._response else None,
                    )
        return b"".join(chunks)

    async def write_to(self, path: str | os.PathLike[str]) -> int:
        """Stream the audio into a file (created or truncated); returns the byte count.
        The connection is released even if writing fails."""
        written = 0
        async with self, await anyio.open_file(path, "wb") as handle:
            async for chunk in self:
                await handle.write(chunk)
                written += len(chunk)
        return written

    async def aclose(self) -> None:
        """Release the connection; an iteration in another task ends without an error.
        Safe to call more than once."""
        await super().aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._response else "not started")
        return f"<TextToAudio {state} {self.content_type or ''} bytes={self.bytes_received}>"


class Audio(Resource):
    """Speech to Text and Text to Audio (v1, and the platform's v2 in development)."""

    async def speech_to_text(
        self,
        file: FileInput,
        *,
        user: str,
        max_size: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Transcription:
        """Transcribe an audio file (mp3, mp4, mpeg, mpga, m4a, wav, webm), given like
        `files.upload` takes it (`max_size` in bytes rejects a larger file before
        sending). Errors: `UnsupportedFileTypeError` (415), `FileTooLargeError` (413),
        `ProviderNotSupportSpeechToTextError` (400)."""
        fields = {"user": check_text("user", user)}
        return await self._upload(
            "/audio-to-text",
            Transcription,
            file,
            fields,
            what="audio file",
            max_size=max_size,
            options=options,
        )

    def text_to_audio(
        self,
        text: str | None = None,
        *,
        user: str,
        message_id: str | None = None,
        voice: str | None = None,
        streaming: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> TextToAudio:
        """Speech for `text`, or for the answer of `message_id` (which wins if both
        are given). Returns at once; the request is sent on first use:
        `async with pulse.audio.text_to_audio("Hi", user=u) as audio: ...` or
        `await pulse.audio.text_to_audio("Hi", user=u).write_to("hi.wav")`."""
        return self._speech("/text-to-audio", text, user, message_id, voice, streaming, options)

    def text_to_audio_v2(
        self,
        text: str | None = None,
        *,
        user: str,
        message_id: str | None = None,
        voice: str | None = None,
        streaming: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> TextToAudio:
        """Text to Audio V2 (`POST /text-to-audio/20250114`), marked "Developing" on
        the platform; its body is assumed to match v1. Same use as `text_to_audio`."""
        return self._speech(TEXT_TO_AUDIO_V2, text, user, message_id, voice, streaming, options)

    def _speech(
        self,
        path: str,
        text: str | None,
        user: str,
        message_id: str | None,
        voice: str | None,
        streaming: bool | None,
        options: RequestOptions,
    ) -> TextToAudio:
        body = present(
            {
                "user": check_text("user", user),
                "message_id": optional_uuid("message_id", message_id),
                "text": optional_text("text", text),
                "voice": optional_text("voice", voice),
                "streaming": optional_bool("streaming", streaming),
            }
        )
        if "text" not in body and "message_id" not in body:
            raise PulseValidationError("text_to_audio needs text or a message_id")
        return TextToAudio(self._client._stream_opener(path, body, "audio/*", options))
