"""`pulse.request`, the generic call for endpoints documented only by name."""

import msgspec
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from ..conftest import FAST_RETRIES

pytestmark = pytest.mark.anyio


class CreatedChat(msgspec.Struct):
    conversation_id: str
    name: str = ""


async def test_create_chat_typed_and_then_used(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    created = await pulse.request(
        "post", "/create-chat", json={"user": "alice", "inputs": {}}, type=CreatedChat
    )
    assert isinstance(created, CreatedChat)
    assert created.name == "New conversation"
    reply = await pulse.chat.send("hi", user="alice", conversation_id=created.conversation_id)
    assert reply.conversation_id == created.conversation_id

    recorded = emulator.requests[0]
    assert (recorded.method, recorded.path) == ("POST", "/create-chat")
    assert recorded.json() == {"user": "alice", "inputs": {}}
    assert recorded.headers["X-Timestamp"]  # signed (the signature itself is not recorded)
    assert "Authorization" not in recorded.headers


async def test_without_a_type_the_body_is_plain_builtins(pulse: pa.AsyncPulse) -> None:
    info = await pulse.request("GET", "/info")
    assert isinstance(info, dict)
    assert info["name"] == "PulseAI Emulator"
    typed = await pulse.request("GET", "/info", type=pa.AppInfo)
    assert typed == await pulse.app.info()


async def test_params_options_and_an_empty_answer(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    reply = await pulse.chat.send("hi", user="u")
    page = await pulse.request(
        "GET",
        "/conversations",
        params={"user": "u", "limit": 1},
        extra_headers={"X-Trace": "t-1"},
        extra_query={"sort_by": "created_at"},
    )
    assert [c["id"] for c in page["data"]] == [reply.conversation_id]
    sent = emulator.requests[-1]
    assert sent.query == {"user": "u", "limit": "1", "sort_by": "created_at"}
    assert sent.headers["X-Trace"] == "t-1"

    emulator.delete_style = 204
    deleted = await pulse.request(
        "DELETE", f"/conversations/{reply.conversation_id}", json={"user": "u"}
    )
    assert deleted is None


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_errors_are_typed(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.NotFoundError) as caught:
        await pulse.request("GET", "/tenant/does-not-exist")
    assert caught.value.status == 404
    assert caught.value.request_id

    with pytest.raises(pa.ResponseDecodeError):
        await pulse.request("GET", "/info", type=list[int])


async def test_retries_apply(emulator: Emulator) -> None:
    emulator.faults.add(path="/create-chat", status=503)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        created = await pulse.request("POST", "/create-chat", json={"user": "u"})
    assert emulator.hits("/create-chat") == 2
    assert created["conversation_id"]

    emulator.faults.add(path="/create-chat", status=503, times=5)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.ServiceUnavailableError):
            await pulse.request("POST", "/create-chat", json={"user": "u"}, max_retries=0)
    assert emulator.hits("/create-chat") == 3


async def test_bad_calls_fail_before_sending(emulator: Emulator) -> None:
    async with pa.AsyncPulse(api_key=emulator.api_key, base_url=emulator.base_url) as pulse:
        with pytest.raises(pa.PulseValidationError, match="start with '/'"):
            await pulse.request("GET", "info")
        with pytest.raises(TypeError, match="unexpected keyword"):
            await pulse.request("GET", "/info", retries=3)
        with pytest.raises(pa.PulseValidationError, match="knowledge API key"):
            await pulse.request("GET", "/datasets", scope="knowledge")
    assert emulator.requests == []


async def test_the_key_stays_out_of_errors_and_records(emulator: Emulator) -> None:
    async with pa.AsyncPulse(api_key="app-wrong-key", base_url=emulator.base_url) as pulse:
        with pytest.raises(pa.AuthenticationError) as caught:
            await pulse.request("GET", "/info")
    assert "app-wrong-key" not in repr(caught.value) + str(caught.value)
    assert all("app-wrong-key" not in str(r.headers) for r in emulator.requests)
