"""File Upload against the emulator: every input kind, retries, documented errors."""

import io
import os
import uuid

import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from ..conftest import FAST_RETRIES

pytestmark = pytest.mark.anyio


def _payload(size: int) -> bytes:
    return os.urandom(size)


async def test_upload_from_a_path_streams_exact_bytes_with_a_content_length(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path
) -> None:
    data = _payload(3 * 1024 * 1024 + 17)
    path = tmp_path / "photo.png"
    path.write_bytes(data)

    uploaded = await pulse.files.upload(path, user="alice")

    assert isinstance(uploaded, pa.UploadedFile)
    uuid.UUID(uploaded.id)
    assert (uploaded.name, uploaded.size, uploaded.extension) == ("photo.png", len(data), "png")
    assert uploaded.mime_type == "image/png"
    stored = emulator.state.files[uploaded.id]
    assert stored.data == data
    assert stored.user == "alice"
    (request,) = [r for r in emulator.requests if r.path == "/files/upload"]
    assert int(request.headers["Content-Length"]) > len(data)
    assert "chunked" not in request.headers.get("Transfer-Encoding", "")


async def test_upload_from_bytes_needs_and_uses_a_name(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    uploaded = await pulse.files.upload(("notes.txt", b"hello world"), user="u")
    assert uploaded.mime_type == "text/plain"
    assert uploaded.as_chat_file()["type"] == "document"
    assert uploaded.as_chat_file("custom")["type"] == "custom"
    assert emulator.state.files[uploaded.id].data == b"hello world"

    with pytest.raises(pa.PulseValidationError, match="file name"):
        await pulse.files.upload(b"anonymous bytes", user="u")  # type: ignore[arg-type]
    assert emulator.hits("/files/upload") == 1


async def test_upload_from_a_sync_file_object(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path
) -> None:
    data = _payload(600_000)
    (tmp_path / "scan.jpg").write_bytes(data)
    with open(tmp_path / "scan.jpg", "rb") as handle:  # noqa: ASYNC230 - a sync file is the point
        uploaded = await pulse.files.upload(handle, user="u")
    assert uploaded.name == "scan.jpg"
    assert uploaded.mime_type == "image/jpeg"
    assert emulator.state.files[uploaded.id].data == data


async def test_upload_from_an_async_file_object(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path
) -> None:
    data = _payload(700_000)
    (tmp_path / "diagram.webp").write_bytes(data)
    async with await anyio.open_file(tmp_path / "diagram.webp", "rb") as handle:
        uploaded = await pulse.files.upload(("diagram.webp", handle), user="u")
    assert uploaded.mime_type == "image/webp"
    assert emulator.state.files[uploaded.id].data == data


@pytest.mark.parametrize("kind", ["path", "sync file", "bytes"])
async def test_a_retried_upload_resends_the_whole_file(
    emulator: Emulator, tmp_path, kind: str
) -> None:
    data = _payload(300_000)
    path = tmp_path / "retry.gif"
    path.write_bytes(data)
    emulator.faults.add(path="/files/upload", status=503)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        if kind == "path":
            uploaded = await pulse.files.upload(path, user="u")
        elif kind == "bytes":
            uploaded = await pulse.files.upload(("retry.gif", data), user="u")
        else:
            with open(path, "rb") as handle:  # noqa: ASYNC230
                uploaded = await pulse.files.upload(handle, user="u")
    assert emulator.hits("/files/upload") == 2
    assert emulator.state.files[uploaded.id].data == data


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_an_unsupported_type_raises_unsupported_file_type(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    with pytest.raises(pa.UnsupportedFileTypeError) as caught:
        await pulse.files.upload(("setup.exe", b"MZ\x90\x00"), user="u")
    error = caught.value
    assert isinstance(error, pa.UnsupportedMediaTypeError)
    assert (error.status, error.code) == (415, "unsupported_file_type")
    assert error.request_id
    assert emulator.state.files == {}


async def test_a_file_over_the_server_limit_raises_file_too_large(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.upload_limit = 1024
    with pytest.raises(pa.FileTooLargeError) as caught:
        await pulse.files.upload(("big.png", b"x" * 2048), user="u")
    assert (caught.value.status, caught.value.code) == (413, "file_too_large")
    assert isinstance(caught.value, pa.PayloadTooLargeError)


async def test_max_size_rejects_before_sending(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.PulseValidationError, match="over the 10-byte limit"):
        await pulse.files.upload(("a.png", b"x" * 11), user="u", max_size=10)
    with pytest.raises(pa.PulseValidationError, match="no such file"):
        await pulse.files.upload("/nonexistent/photo.png", user="u")
    with pytest.raises(pa.PulseValidationError, match="user"):
        await pulse.files.upload(("a.png", b"x"), user="")
    assert emulator.hits("/files/upload") == 0


async def test_other_documented_400_codes_have_their_classes(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    for code, cls in [
        ("no_file_uploaded", pa.NoFileUploadedError),
        ("too_many_files", pa.TooManyFilesError),
        ("filename_not_exists_error", pa.FilenameNotExistsError),
    ]:
        emulator.faults.add(path="/files/upload", status=400, code=code)
        with pytest.raises(cls) as caught:
            await pulse.files.upload(("a.png", io.BytesIO(b"x")), user="u")
        assert (caught.value.status, caught.value.code) == (400, code)


async def test_an_uploaded_file_goes_into_a_chat_message(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    uploaded = await pulse.files.upload(("cat.png", b"\x89PNG fake"), user="u")
    assert uploaded.as_chat_file() == {
        "type": "image",
        "transfer_method": "local_file",
        "upload_file_id": uploaded.id,
    }
    reply = await pulse.chat.send("What is in this picture?", user="u", files=[uploaded])
    sent = [r for r in emulator.requests if r.path == "/chat-messages"][-1].json()
    assert sent["files"] == [uploaded.as_chat_file()]

    (message,) = [m async for m in pulse.conversations.messages(reply.conversation_id, user="u")]
    (attached,) = message.message_files
    assert attached.upload_file_id == uploaded.id
    assert attached.filename == "cat.png"


async def test_chat_rejects_an_unknown_upload_file_id(pulse: pa.AsyncPulse) -> None:
    fake = {"type": "image", "transfer_method": "local_file", "upload_file_id": str(uuid.uuid4())}
    with pytest.raises(pa.InvalidParamError):
        await pulse.chat.send("hi", user="u", files=[fake])
