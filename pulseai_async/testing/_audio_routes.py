"""Emulated Speech to Text and Text to Audio (v1 and the PulseAI v2 path).

Text to Audio streams a small valid WAV file whose samples are computed from the text,
so the same text always gives the same bytes (`synthesize`).
"""

from __future__ import annotations

import asyncio
import math
import struct
import sys
from array import array
from typing import TYPE_CHECKING

from aiohttp import web

from ._multipart import check_size, read_upload
from ._routes import Refusal, json_and_user, ok, user_of
from ._state import new_id

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["AUDIO_EXTENSIONS", "setup", "synthesize"]

AUDIO_EXTENSIONS = frozenset({"mp3", "mp4", "mpeg", "mpga", "m4a", "wav", "webm", "amr"})
SAMPLE_RATE = 16_000
SAMPLES_PER_CHAR = 400
CHUNK = 16 * 1024


def synthesize(text: str) -> bytes:
    """A 16 kHz mono 16-bit PCM WAV: one short tone per character of `text`."""
    samples = array("h")
    for char in text:
        step = 2 * math.pi * (200 + (ord(char) % 64) * 20) / SAMPLE_RATE
        samples.extend(int(8000 * math.sin(i * step)) for i in range(SAMPLES_PER_CHAR))
    if sys.byteorder == "big":  # WAV samples are little-endian
        samples.byteswap()
    pcm = samples.tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def setup(app: web.Application, emulator: Emulator) -> None:
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
        headers = {"Content-Type": "audio/wav", "X-Request-Id": new_id()}
        response = web.StreamResponse(headers=headers)
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
