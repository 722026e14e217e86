"""Emulated Speech to Text and Text to Audio (v1 and the PulseAI v2 path).

Text to Audio streams `audio/mpeg`, as Dify sends: a small valid MP3 (an ID3 tag naming
the text, then silent MPEG-1 Layer III frames, two per character), so the same text
always gives the same bytes (`synthesize`).
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from aiohttp import web

from ._multipart import check_size, read_upload
from ._refusal import Refusal
from ._routes import json_and_user, ok, user_of

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["AUDIO_EXTENSIONS", "setup", "synthesize"]

AUDIO_EXTENSIONS = frozenset({"mp3", "mp4", "mpeg", "mpga", "m4a", "wav", "webm", "amr"})
FRAMES_PER_CHAR = 2
CHUNK = 16 * 1024
# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: 417-byte frames of 1152 samples; all-zero
# side information and main data decode as silence.
SILENT_FRAME = b"\xff\xfb\x90\xc0" + bytes(413)


def _syncsafe(size: int) -> bytes:
    """ID3v2 sizes: 7 bits per byte."""
    return bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))


def synthesize(text: str) -> bytes:
    """An MP3 of `text`: an ID3v2.3 tag whose title is the text, then silence."""
    title = b"\x01" + text.encode("utf-16")  # UTF-16 with a byte-order mark
    frame = b"TIT2" + struct.pack(">IH", len(title), 0) + title
    tag = b"ID3\x03\x00\x00" + _syncsafe(len(frame)) + frame
    return tag + SILENT_FRAME * (FRAMES_PER_CHAR * max(len(text), 1))


def setup(app: web.Application, emulator: EmulatorView) -> None:
    async def speech_to_text(request: web.Request) -> web.Response:
        fields, file = await read_upload(request, no_file_code="no_audio_uploaded")
        user_of(fields)
        if not emulator.speech_to_text_supported:
            raise Refusal(
                400, "provider_not_support_speech_to_text", "Provider not support speech to text."
            )
        if file.extension not in AUDIO_EXTENSIONS:
            raise Refusal(415, "unsupported_audio_type", "Audio type not allowed.")
        check_size(file, emulator.audio_upload_limit, "audio_too_large", "Audio")
        text = f"Transcript of {file.filename} ({len(file.data)} bytes) from the emulator."
        return ok(emulator, {"text": text})

    async def text_to_audio(request: web.Request) -> web.StreamResponse:
        body, user = await json_and_user(request)
        text = body.get("text")
        message_id = body.get("message_id")
        if message_id:
            message = emulator.state.messages.get(str(message_id))
            owner = message and emulator.state.conversation(message.conversation_id, user)
            if message is None or owner is None:
                raise Refusal(404, "not_found", "Message Not Exists.")
            text = message.answer
        if not isinstance(text, str) or not text.strip():
            raise Refusal(400, "invalid_param", "text or message_id is required.")
        audio = synthesize(text)
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(audio), CHUNK):
            await response.write(audio[start : start + CHUNK])
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    app.router.add_post("/v1/audio-to-text", speech_to_text)
    app.router.add_post("/v1/text-to-audio", text_to_audio)
    app.router.add_post("/v1/text-to-audio/20250114", text_to_audio)
