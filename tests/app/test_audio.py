"""Speech to Text and Text to Audio (v1 and v2) against the emulator."""

import uuid

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator
from pulseai_async.testing._audio_routes import synthesize

from ..conftest import Serve, checked_out

pytestmark = pytest.mark.anyio

TEXT = "Hello from the PulseAI emulator, spoken slowly enough to need several chunks."


async def test_chunks_and_write_to_give_the_same_bytes(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path
) -> None:
    chunks = []
    async with pulse.audio.text_to_audio(TEXT, user="u") as audio:
        assert audio.content_type == "audio/mpeg"  # what Dify sends
        async for chunk in audio:
            chunks.append(chunk)
    assert len(chunks) > 1
    streamed = b"".join(chunks)
    assert streamed[:3] == b"ID3" and b"\xff\xfb" in streamed  # an MP3: a tag, then frames
    assert streamed == synthesize(TEXT)
    assert checked_out(pulse) == 0

    target = tmp_path / "hello.mp3"
    written = await pulse.audio.text_to_audio(TEXT, user="u").write_to(target)
    assert written == len(streamed)
    assert target.read_bytes() == streamed
    assert checked_out(pulse) == 0

    assert await pulse.audio.text_to_audio(TEXT, user="u").read() == streamed
    assert checked_out(pulse) == 0
    assert emulator.requests[-1].json() == {"user": "u", "text": TEXT}


async def test_plain_async_for_releases_the_connection(pulse: pa.AsyncPulse) -> None:
    audio = pulse.audio.text_to_audio(TEXT, user="u")
    total = 0
    async for chunk in audio:
        total += len(chunk)
    assert total == len(synthesize(TEXT))
    assert audio.bytes_received == total
    assert checked_out(pulse) == 0


async def test_leaving_early_releases_the_connection(pulse: pa.AsyncPulse) -> None:
    async with pulse.audio.text_to_audio(TEXT * 20, user="u") as audio:
        async for _ in audio:
            break
    assert checked_out(pulse) == 0

    async def fail_while_reading() -> None:
        async with pulse.audio.text_to_audio(TEXT * 20, user="u") as audio:
            async for _ in audio:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_while_reading()
    assert checked_out(pulse) == 0

    with anyio.move_on_after(0):
        await pulse.audio.text_to_audio(TEXT * 20, user="u").read()
    assert checked_out(pulse) == 0
    # The pool still works afterwards.
    assert len(await pulse.audio.text_to_audio("ok", user="u").read()) > 44


async def test_speech_for_a_message_and_the_v2_endpoint(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    reply = await pulse.chat.send("Say something", user="u")
    spoken = await pulse.audio.text_to_audio(user="u", message_id=reply.message_id).read()
    assert spoken == synthesize(reply.answer)

    v2 = await pulse.audio.text_to_audio_v2("Hi", user="u", voice="alloy", streaming=True).read()
    assert v2 == synthesize("Hi")
    assert emulator.hits("/text-to-audio/20250114", "POST") == 1
    assert emulator.requests[-1].json() == {
        "user": "u",
        "text": "Hi",
        "voice": "alloy",
        "streaming": True,
    }


async def test_text_to_audio_errors(emulator: Emulator, pulse: pa.AsyncPulse, tmp_path) -> None:
    with pytest.raises(pa.PulseValidationError, match="text or a message_id"):
        pulse.audio.text_to_audio(user="u")
    with pytest.raises(pa.PulseValidationError, match="message_id"):
        pulse.audio.text_to_audio(user="u", message_id="42")
    assert emulator.requests == []

    target = tmp_path / "never.wav"
    with pytest.raises(pa.NotFoundError):
        await pulse.audio.text_to_audio(user="u", message_id=str(uuid.uuid4())).write_to(target)
    assert not target.exists()
    assert checked_out(pulse) == 0


async def test_speech_to_text(emulator: Emulator, pulse: pa.AsyncPulse, tmp_path) -> None:
    path = tmp_path / "memo.wav"
    path.write_bytes(synthesize("memo"))
    result = await pulse.audio.speech_to_text(path, user="u")
    assert isinstance(result, pa.Transcription)
    assert result.text == f"Transcript of memo.wav ({path.stat().st_size} bytes) from the emulator."

    from_bytes = await pulse.audio.speech_to_text(("clip.mp3", b"ID3 fake"), user="u")
    assert "clip.mp3" in from_bytes.text


async def test_speech_to_text_max_size_refuses_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    with pytest.raises(pa.PulseValidationError, match="over the 10-byte limit"):
        await pulse.audio.speech_to_text(("long.wav", b"x" * 11), user="u", max_size=10)
    assert emulator.requests == []


async def test_speech_to_text_errors(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.UnsupportedFileTypeError) as caught:
        await pulse.audio.speech_to_text(("notes.txt", b"text"), user="u")
    assert (caught.value.status, caught.value.code) == (415, "unsupported_audio_type")

    emulator.audio_upload_limit = 10
    with pytest.raises(pa.FileTooLargeError) as too_large:
        await pulse.audio.speech_to_text(("long.wav", b"x" * 11), user="u")
    assert too_large.value.code == "audio_too_large"

    emulator.speech_to_text_supported = False
    with pytest.raises(pa.ProviderNotSupportSpeechToTextError):
        await pulse.audio.speech_to_text(("a.wav", b"x"), user="u")

    emulator.faults.add(path="/audio-to-text", status=400, code="no_audio_uploaded")
    with pytest.raises(pa.NoFileUploadedError):
        await pulse.audio.speech_to_text(("a.wav", b"x"), user="u")


async def test_a_dropped_audio_stream_raises_stream_interrupted(serve: Serve) -> None:
    """A purpose-built server that sends part of the audio, then drops the connection."""

    async def half_then_drop(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"ID3" + bytes(5000))
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_post("/v1/text-to-audio", half_then_drop)
    async with pa.AsyncPulse(api_key="k", base_url=await serve(app)) as pulse:
        audio = pulse.audio.text_to_audio("hi", user="u")
        with pytest.raises(pa.StreamInterruptedError, match="audio stream broke"):
            await audio.read()
        assert audio.content_type == "audio/mpeg"
        assert audio.bytes_received >= 3
        assert checked_out(pulse) == 0


def stalling_app() -> web.Application:
    """A purpose-built server that sends 5003 bytes of audio, then nothing more."""

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        await response.write(b"ID3" + bytes(5000))
        await anyio.sleep(30)  # the rest never comes
        return response

    app = web.Application()
    app.router.add_post("/v1/text-to-audio", stall)
    return app


async def test_aclose_from_another_task_ends_the_audio_quietly(
    emulator: Emulator, serve: Serve
) -> None:
    """Closed while its response starts, then closed while it is being read: the reading
    task ends without an error either way, and no connection is left checked out."""
    emulator.faults.add(path="/text-to-audio", method="POST", delay=0.3)
    url = await serve(stalling_app())
    async with (
        pa.AsyncPulse(api_key="k", base_url=url) as stalled,
        emulator.client() as delayed,
    ):
        for pulse, wait in ((delayed, 0.1), (stalled, 0.3)):
            audio = pulse.audio.text_to_audio("hi", user="u")
            received: list[bytes] = []

            async def read() -> None:
                async for chunk in audio:  # noqa: B023
                    received.append(chunk)  # noqa: B023

            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(read)
                    await anyio.sleep(wait)
                    await audio.aclose()
            assert sum(map(len, received)) == (0 if pulse is delayed else 5003)
            assert checked_out(pulse) == 0


async def test_a_stalled_audio_stream_is_a_stream_timeout(serve: Serve) -> None:
    """Like a stalled chat stream: both a read timeout and an interrupted stream."""
    url = await serve(stalling_app())
    async with pa.AsyncPulse("k", base_url=url, timeout=pa.Timeout(read=0.3)) as pulse:
        audio = pulse.audio.text_to_audio("hi", user="u")
        with anyio.fail_after(10), pytest.raises(pa.StreamTimeoutError) as caught:
            await audio.read()
        assert isinstance(caught.value, pa.StreamInterruptedError)
        assert caught.value.phase == "read"
        assert audio.bytes_received == 5003
        assert checked_out(pulse) == 0
