"""Every fault plan ends in its documented outcome: retried and succeeded, or a typed
error carrying the partial text. Never a hang (each test runs under `anyio.fail_after`),
never a bare aiohttp exception, never a connection left checked out."""

from __future__ import annotations

import time

import aiohttp
import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import FAST_RETRIES, checked_out

pytestmark = pytest.mark.anyio

ANSWER = " ".join(f"w{i}" for i in range(60))
"""60 stream events: `w0 `, `w1 `, ... `w59`."""


def prefix(events: int) -> str:
    """The text of the first `events` events of ANSWER."""
    return "".join(f"w{i} " for i in range(events))


LEADING_EVENTS = {"advanced-chat": 2, "chat": 0}
"""Events before the answer's first token: a chatflow's `workflow_started` and the Start
node's `node_started` (a fault's `after_events` counts `message` events only)."""


@pytest.fixture(params=["advanced-chat", "chat"])
def emulator_with_answer(emulator: Emulator, request: pytest.FixtureRequest) -> Emulator:
    """Every plan on both app modes, with request ids on (Dify 1.9.1 sends none, and
    these tests check that typed errors carry the one a server sends)."""
    emulator.answer = ANSWER
    emulator.app_mode = request.param
    emulator.request_ids = True
    return emulator


def leading(emulator: Emulator) -> int:
    return LEADING_EVENTS[emulator.app_mode]


async def read_stream(pulse: pa.AsyncPulse, **options) -> pa.ChatStream:
    async with pulse.chat.stream("question", user="u", **options) as stream:
        async for _ in stream:
            pass
    return stream


async def assert_still_usable(pulse: pa.AsyncPulse) -> None:
    """After a fault the same client streams the next answer whole."""
    stream = await read_stream(pulse)
    assert stream.text == ANSWER and stream.finished
    assert checked_out(pulse) == 0


# --- "the 2nd request gets 503 with Retry-After: 1" --------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_second_request_503_retry_after_is_waited_for_then_succeeds(
    emulator_with_answer: Emulator, streaming: bool
) -> None:
    emulator = emulator_with_answer
    emulator.faults.add(Fault.http_error(503, retry_after=1).on("/chat-messages").nth(2))
    with anyio.fail_after(10):
        async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
            first = await pulse.chat.send("one", user="u")
            if streaming:
                text = (await read_stream(pulse)).text
            else:
                text = (await pulse.chat.send("two", user="u")).answer
            assert checked_out(pulse) == 0
    assert first.answer == text == ANSWER
    calls = emulator.requests_to("/chat-messages")
    assert len(calls) == 3
    assert calls[2].time - calls[1].time >= 0.95  # Retry-After: 1, not the 10 ms back-off


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_error_statuses_before_a_stream_starts_are_retried(
    emulator_with_answer: Emulator, status: int
) -> None:
    emulator_with_answer.faults.add(Fault.http_error(status, retry_after=0).repeated(2))
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            stream = await read_stream(pulse)
            assert checked_out(pulse) == 0
    assert stream.text == ANSWER
    assert emulator_with_answer.hits("/chat-messages") == 3


async def test_proxy_html_on_every_attempt_ends_in_bad_gateway_error(
    emulator_with_answer: Emulator,
) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    emulator_with_answer.faults.add(Fault.http_error(502, body=page).always())
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(pa.BadGatewayError) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
    assert caught.value.status == 502 and "<html" not in str(caught.value)
    assert emulator_with_answer.hits("/chat-messages") == 3  # 1 + 2 retries


# --- connection lost before any answer ----------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_connection_reset_after_a_chat_turn_was_sent_is_not_retried(
    emulator_with_answer: Emulator, streaming: bool
) -> None:
    """The server had the whole POST: sending it again could duplicate the turn."""
    emulator_with_answer.faults.add(Fault.disconnected())
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(pa.APIConnectionError) as caught:
                if streaming:
                    await read_stream(pulse)
                else:
                    await pulse.chat.send("q", user="u")
            assert checked_out(pulse) == 0
            assert (await pulse.chat.send("q", user="u")).answer == ANSWER  # still usable
    assert caught.value.stage == "sent"
    assert emulator_with_answer.hits("/chat-messages") == 2  # the failed turn, once


async def test_connection_reset_before_an_idempotent_answer_is_retried(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.disconnected().on("/info"))
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            info = await pulse.app.info()
            assert checked_out(pulse) == 0
    assert info.name
    assert emulator_with_answer.hits("/info") == 2


async def test_connection_reset_on_every_attempt_is_a_connection_error(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.disconnected().on("/info").always())
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(pa.APIConnectionError) as caught:
                await pulse.app.info()
            assert checked_out(pulse) == 0
    assert not isinstance(caught.value, pa.APIStatusError)
    assert "GET /info" in str(caught.value)
    # 3 attempts; aiohttp itself resends an idempotent request once when its
    # connection drops before any answer, so each attempt may reach the server twice
    assert emulator_with_answer.hits("/info") in (3, 6)


# --- "drop the connection after 40 events" ----------------------------------------------


async def test_connection_dropped_after_40_events(emulator_with_answer: Emulator) -> None:
    emulator_with_answer.faults.add(Fault.drop_after(40))
    with anyio.fail_after(10):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(pa.StreamInterruptedError) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
            await assert_still_usable(pulse)
    error = caught.value
    assert error.partial_text == prefix(40)
    assert error.events_received == 40 + leading(emulator_with_answer)
    assert f"after {40 + leading(emulator_with_answer)} events" in str(error)
    # A stream that has yielded events is never replayed: no duplicate turn.
    assert emulator_with_answer.hits("/chat-messages") == 2


async def test_drop_after_the_last_token_still_misses_message_end(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.drop_after(500))  # more than the answer has
    with anyio.fail_after(10):
        async with emulator_with_answer.client() as pulse:
            with pytest.raises(pa.StreamInterruptedError) as caught:
                await read_stream(pulse)
    assert caught.value.partial_text == ANSWER  # every token, but no message_end


async def test_drop_before_the_first_event(emulator_with_answer: Emulator) -> None:
    emulator_with_answer.ping_first = False
    emulator_with_answer.faults.add(Fault.drop_after(0))
    with anyio.fail_after(10):
        async with emulator_with_answer.client() as pulse:
            with pytest.raises(pa.StreamInterruptedError) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
    assert caught.value.partial_text == ""
    assert caught.value.events_received == leading(emulator_with_answer)


async def test_plain_async_for_also_releases_a_dropped_stream(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.drop_after(5))
    with anyio.fail_after(10):
        async with emulator_with_answer.client() as pulse:
            stream = pulse.chat.stream("q", user="u")
            with pytest.raises(pa.StreamInterruptedError):
                async for _ in stream:
                    pass
            assert checked_out(pulse) == 0
            assert stream.text == prefix(5)


# --- "send a malformed frame" -------------------------------------------------------------


async def test_malformed_frame_is_a_decode_error_with_the_partial_text(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.malformed_after(7))
    with anyio.fail_after(10):
        async with emulator_with_answer.client() as pulse:
            with pytest.raises(pa.ResponseDecodeError) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
            await assert_still_usable(pulse)
    assert caught.value.partial_text == prefix(7)
    assert b'"answer"' in caught.value.body  # the offending frame, for the bug report


# --- "stall for 5 s mid-stream" -------------------------------------------------------------


async def test_stall_longer_than_the_read_timeout_is_interrupted(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.stall_after(10, seconds=5))
    # The 5 s stall ends in the 0.5 s read timeout, well inside this 4 s bound.
    with anyio.fail_after(4):
        async with emulator_with_answer.client(timeout=pa.Timeout(read=0.5)) as pulse:
            with pytest.raises(pa.StreamInterruptedError) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
    assert caught.value.partial_text == prefix(10)
    assert "timeout" in str(caught.value).lower()
    assert isinstance(caught.value, pa.StreamTimeoutError) and caught.value.phase == "read"
    assert caught.value.__cause__ is None  # aiohttp's error is summarised, not chained


async def test_stall_shorter_than_the_read_timeout_completes(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.stall_after(10, seconds=0.3))
    with anyio.fail_after(10):
        async with emulator_with_answer.client(timeout=pa.Timeout(read=2)) as pulse:
            started = time.monotonic()
            stream = await read_stream(pulse)
    assert stream.text == ANSWER and stream.finished
    assert time.monotonic() - started >= 0.3  # the stall did happen


async def test_slow_first_byte_is_a_read_timeout_and_not_retried(
    emulator_with_answer: Emulator,
) -> None:
    emulator_with_answer.faults.add(Fault.slow(3).always())
    with anyio.fail_after(4):
        async with emulator_with_answer.client(
            timeout=pa.Timeout(read=0.3), retry_policy=FAST_RETRIES
        ) as pulse:
            with pytest.raises(pa.APITimeoutError) as caught:
                await read_stream(pulse)
            with pytest.raises(pa.APITimeoutError):
                await pulse.chat.send("q", user="u")
            assert checked_out(pulse) == 0
    assert caught.value.phase == "read"
    assert emulator_with_answer.hits("/chat-messages") == 2  # the server may have acted


# --- "send an in-stream error after 10 events" ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        ("provider_quota_exceeded", pa.ProviderQuotaExceededError, 400),
        ("completion_request_error", pa.CompletionRequestError, 400),
        ("invalid_param", pa.InvalidParamError, 400),
        ("internal_server_error", pa.InternalServerError, 500),
    ],
)
async def test_in_stream_error_after_10_events(
    emulator_with_answer: Emulator, code: str, cls: type[pa.APIStatusError], status: int
) -> None:
    emulator_with_answer.faults.add(Fault.error_after(10, code))
    # On a plain chat app the emulator keeps pinging for 5 s after the error, as some
    # servers do: the stream must close itself at once, well inside this bound.
    with anyio.fail_after(3):
        async with emulator_with_answer.client(retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(cls) as caught:
                await read_stream(pulse)
            assert checked_out(pulse) == 0
            await assert_still_usable(pulse)
    error = caught.value
    assert (error.status, error.code) == (status, code)
    assert error.message and error.partial_text == prefix(10)
    assert error.request_id  # the stream's response header
    assert emulator_with_answer.hits("/chat-messages") == 2  # never replayed


async def test_in_stream_error_before_any_text(emulator_with_answer: Emulator) -> None:
    emulator_with_answer.faults.add(
        Fault.error_after(0, "completion_request_error", message="model overloaded")
    )
    with anyio.fail_after(3):
        async with emulator_with_answer.client() as pulse:
            with pytest.raises(pa.CompletionRequestError, match="model overloaded") as caught:
                await read_stream(pulse)
    assert caught.value.partial_text == ""


# --- how faults are scoped ------------------------------------------------------------------


async def test_stream_faults_wait_for_a_stream(emulator_with_answer: Emulator) -> None:
    emulator_with_answer.faults.add(Fault.drop_after(3))
    with anyio.fail_after(10):
        async with emulator_with_answer.client() as pulse:
            reply = await pulse.chat.send("blocking calls pass the fault by", user="u")
            assert reply.answer == ANSWER
            with pytest.raises(pa.StreamInterruptedError):
                await read_stream(pulse)
            await assert_still_usable(pulse)  # it applied once
    assert len(emulator_with_answer.faults) == 0


async def test_faults_match_path_method_and_count(emulator_with_answer: Emulator) -> None:
    faults = emulator_with_answer.faults
    faults.add(Fault.http_error(400, "invalid_param").on("/conversations/*", method="DELETE"))
    faults.add(Fault.http_error(500).on("/chat-messages").nth(2).repeated(2))
    with anyio.fail_after(10):
        async with emulator_with_answer.client(max_retries=0) as pulse:
            first = await pulse.chat.send("1", user="u")
            for _ in range(2):
                with pytest.raises(pa.InternalServerError):
                    await pulse.chat.send("2", user="u")
            await pulse.chat.send("4", user="u")
            with pytest.raises(pa.InvalidParamError):
                await pulse.conversations.delete(first.conversation_id, user="u")
            await pulse.conversations.delete(first.conversation_id, user="u")
    assert len(faults) == 0
    assert [r.path for r in emulator_with_answer.requests][-2:] == [
        f"/conversations/{first.conversation_id}"
    ] * 2


async def test_keyword_overrides_and_plain_fields(emulator_with_answer: Emulator) -> None:
    fault = emulator_with_answer.faults.add(Fault.http_error(503, retry_after=0), times=3)
    assert (fault.status, fault.times, fault.retry_after_header) == (503, 3, "0")
    raw = emulator_with_answer.faults.add(path="/chat-messages", status=429, retry_after="1")
    assert raw.retry_after_header == "1"
    with pytest.raises(ValueError, match="nth"):
        Fault.http_error(500).nth(0)
    with pytest.raises(ValueError, match=">= 0"):
        Fault(stall=-1)


# --- the summary: every plan, no retries, nothing but the SDK's own exceptions ---------------

FAULT_PLANS = {
    "503 Retry-After": Fault.http_error(503, retry_after=1),
    "429 rate limit": Fault.http_error(429, "too_many_requests"),
    "500 unknown code": Fault.http_error(500, "unknown", message="Internal Server Error"),
    "502 proxy HTML": Fault.http_error(502, body=b"<html>Bad Gateway</html>"),
    "400 no envelope": Fault.http_error(400, body=b'{"error": "Segments is required"}'),
    "reset before answer": Fault.disconnected(),
    "slow first byte": Fault.slow(2),
    "drop after 40": Fault.drop_after(40),
    "drop at once": Fault.drop_after(0),
    "malformed frame": Fault.malformed_after(3),
    "stall 5 s": Fault.stall_after(20, 5),
    "in-stream error": Fault.error_after(10, "provider_quota_exceeded"),
    "in-stream 500": Fault.error_after(10, "internal_server_error"),
}


@pytest.mark.parametrize("name", list(FAULT_PLANS))
@pytest.mark.parametrize("streaming", [False, True])
async def test_every_fault_plan_ends_in_an_sdk_exception(
    emulator_with_answer: Emulator, name: str, streaming: bool
) -> None:
    fault = FAULT_PLANS[name].repeated(1)  # a fresh copy: faults count their uses
    emulator_with_answer.faults.add(fault)
    timeout = pa.Timeout(connect=2, read=0.5, total=5)
    raised: BaseException | None = None
    with anyio.fail_after(4):
        async with emulator_with_answer.client(max_retries=0, timeout=timeout) as pulse:
            try:
                if streaming:
                    await read_stream(pulse)
                else:
                    await pulse.chat.send("q", user="u")
            except BaseException as exc:
                raised = exc
            assert checked_out(pulse) == 0
    if not streaming and fault.is_stream_fault:
        assert raised is None  # a stream fault leaves blocking calls alone
        return
    assert isinstance(raised, pa.PulseError), repr(raised)
    assert not isinstance(raised, aiohttp.ClientError | TimeoutError)
    if fault.is_stream_fault:
        assert raised.partial_text is not None
        assert ANSWER.startswith(raised.partial_text)
