"""Bad input, client side: every mistake is a `PulseValidationError` (a ValueError) that
names the problem, raised before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import pulseai_async as pa
from pulseai_async._uploads import prepare_upload
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

Call = Callable[[pa.AsyncPulse], Any]

CHAT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "query not a string": ({"query": 42}, "query must be a string"),
    "query None": ({"query": None}, "query must be a string"),
    "query empty": ({"query": ""}, "query must not be empty"),
    "query blank": ({"query": " \n\t"}, "query must not be empty"),
    "user empty": ({"user": ""}, "user must not be empty"),
    "user not a string": ({"user": 7}, "user must be a string"),
    "conversation id not a UUID": ({"conversation_id": "conv-1"}, "conversation_id must be a UUID"),
    "conversation id almost a UUID": (
        {"conversation_id": str(uuid.uuid4())[:-1] + "z"},
        "conversation_id must be a UUID",
    ),
    "conversation id an int": ({"conversation_id": 12}, "conversation_id must be a string"),
    "inputs a list": ({"inputs": ["city"]}, "inputs must be a mapping"),
    "inputs not JSON": ({"inputs": {"when": object()}}, "not JSON"),
    "files a string": ({"files": "photo.png"}, "files must be a list"),
    "file type not in the enum": (
        {"files": [{"type": "pdf", "transfer_method": "local_file", "upload_file_id": "f"}]},
        r"files\[0\]\.type must be one of",
    ),
    "transfer method not in the enum": (
        {"files": [{"type": "image", "transfer_method": "ftp", "url": "ftp://x"}]},
        r"files\[0\]\.transfer_method",
    ),
    "remote file without an http url": (
        {"files": [{"type": "image", "transfer_method": "remote_url", "url": "file:///x"}]},
        r"files\[0\]\.url must be an http\(s\) URL",
    ),
    "local file without an id": (
        {"files": [{"type": "image", "transfer_method": "local_file", "upload_file_id": ""}]},
        r"files\[0\]\.upload_file_id must not be empty",
    ),
    "timeout negative": ({"timeout": -1}, "timeout must be a positive number"),
    "timeout a string": ({"timeout": "30"}, "timeout must be a positive number"),
    "max_retries negative": ({"max_retries": -1}, "max_retries must be an int >= 0"),
    "max_retries a string": ({"max_retries": "2"}, "max_retries must be an int >= 0"),
    "extra header not a string": ({"extra_headers": {"X-N": 1}}, "extra_headers must map"),
    "extra body not JSON": ({"extra_body": {"x": 1j}}, "not JSON"),
}


async def chat(pulse: pa.AsyncPulse, streaming: bool, kwargs: dict[str, Any]) -> None:
    if streaming:
        async with pulse.chat.stream(**kwargs) as stream:
            await stream.final_text()
    else:
        await pulse.chat.send(**kwargs)


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("case", list(CHAT_CASES))
async def test_chat_input_is_checked_before_sending(
    emulator: Emulator, case: str, streaming: bool
) -> None:
    overrides, message = CHAT_CASES[case]
    kwargs: dict[str, Any] = {"query": "hi", "user": "u", **overrides}
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=message):
                await chat(pulse, streaming, kwargs)
    assert emulator.requests == []


@pytest.mark.parametrize("case", list(CHAT_CASES))
async def test_stream_checks_its_request_at_once(pulse: pa.AsyncPulse, case: str) -> None:
    overrides, message = CHAT_CASES[case]
    with pytest.raises(pa.PulseValidationError, match=message):
        pulse.chat.stream(**{"query": "hi", "user": "u", **overrides})  # not on first use


OTHER_CALLS: dict[str, tuple[Call, str]] = {
    "stop with a task id not a UUID": (
        lambda p: p.chat.stop("task-1", user="u"),
        "task_id must be a UUID",
    ),
    "stop without a user": (lambda p: p.chat.stop(str(uuid.uuid4()), user=""), "user"),
    "delete a conversation id not a UUID": (
        lambda p: p.conversations.delete("not-a-uuid", user="u"),
        "conversation_id must be a UUID",
    ),
    "delete an empty conversation id": (
        lambda p: p.conversations.delete("", user="u"),
        "conversation_id must not be empty",
    ),
    "delete without a user": (
        lambda p: p.conversations.delete(str(uuid.uuid4()), user="  "),
        "user must not be empty",
    ),
    "generic request with a relative path": (
        lambda p: p.request("GET", "info"),
        "path must start with '/'",
    ),
}


@pytest.mark.parametrize("case", list(OTHER_CALLS))
async def test_other_calls_are_checked_before_sending(emulator: Emulator, case: str) -> None:
    call, message = OTHER_CALLS[case]
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=message):
                await call(pulse)
    assert emulator.requests == []


CLIENT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "empty key": ({"api_key": ""}, "API key must be a non-empty string"),
    "blank key": ({"api_key": "   "}, "API key must be a non-empty string"),
    "key not a string": ({"api_key": 1234}, "API key must be a non-empty string"),
    "ftp base url": ({"base_url": "ftp://files.example.com/v1"}, "base_url must be an http"),
    "file base url": ({"base_url": "file:///etc/passwd"}, "base_url must be an http"),
    "websocket base url": ({"base_url": "wss://api.example.com/v1"}, "base_url must be an http"),
    "base url without scheme": ({"base_url": "localhost:8080/v1"}, "base_url must be an http"),
    "base url without host": ({"base_url": "https:///v1"}, "base_url must be an http"),
    "empty base url": ({"base_url": ""}, "base_url must be an http"),
    "base url not a string": ({"base_url": 8080}, "base_url must be a string"),
    "negative timeout field": ({"timeout": lambda: pa.Timeout(read=-1)}, "Timeout.read must be"),
    "zero timeout": ({"timeout": 0}, "timeout must be a positive number"),
    "negative retries": ({"max_retries": -2}, "max_retries must be an int >= 0"),
    "retry policy with negative retries": (
        {"retry_policy": lambda: pa.RetryPolicy(max_retries=-1)},
        "max_retries must be an int >= 0",
    ),
    "zero max event size": ({"max_event_size": 0}, "max_event_size must be a positive int"),
    "zero max response size": ({"max_response_size": 0}, "max_response_size must be a positive"),
    "max text length a float": ({"max_text_length": 1e6}, "max_text_length must be a positive"),
    "negative pool size": ({"max_connections": -5}, "max_connections must be an int >= 0"),
    "pool size a string": ({"max_connections": "100"}, "max_connections must be an int >= 0"),
    "verify_ssl a string": ({"verify_ssl": "no"}, "verify_ssl must be True or False"),
    "default header not a string": ({"default_headers": {"X-N": 2}}, "default_headers must map"),
    "signer without sign()": ({"signer": lambda: object()}, "signer must have a sign"),
}


@pytest.mark.parametrize("case", list(CLIENT_CASES))
def test_client_settings_are_checked_when_constructed(case: str) -> None:
    overrides, message = CLIENT_CASES[case]
    kwargs: dict[str, Any] = {"api_key": "app-key", "base_url": "http://127.0.0.1:9/v1"}
    kwargs.update(overrides)
    with pytest.raises(pa.PulseValidationError, match=message) as caught:
        # Settings objects that check themselves are built inside the `raises` block.
        pa.AsyncPulse(**{k: v() if callable(v) else v for k, v in kwargs.items()})
    assert isinstance(caught.value, ValueError)


async def test_oversized_file_is_refused_before_reading_it_all(tmp_path) -> None:
    big = tmp_path / "report.pdf"
    big.write_bytes(b"%PDF" + b"0" * 4096)
    with anyio.fail_after(5):
        with pytest.raises(pa.PulseValidationError, match=r"'report.pdf' is 4100 bytes, over"):
            await prepare_upload(big, max_size=4096)
        with pytest.raises(pa.PulseValidationError, match="over the 10-byte limit"):
            await prepare_upload(("notes.txt", b"x" * 11), max_size=10)
        upload = await prepare_upload(("notes.txt", b"x" * 10), max_size=10)
    assert upload.size == 10


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("/no/such/file.png", "no such file"),
        (b"raw bytes", "raw bytes need a file name"),
        (("", b"data"), "must be a path, a file object"),
        (12345, "must be a path, bytes or a file object"),
    ],
)
async def test_unusable_file_inputs_are_named(file: Any, message: str) -> None:
    with anyio.fail_after(5), pytest.raises(pa.PulseValidationError, match=message):
        await prepare_upload(file)
