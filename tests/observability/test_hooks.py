"""Client-wide hooks: each attempt and each call reported, never the key or a body, and a
hook that raises does not break the call."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import FAST_RETRIES

# Dify 1.9.1 sends no request id; PulseAI-style servers (and the emulator so set) do
pytestmark = [pytest.mark.anyio, pytest.mark.pulseai_emulator(request_ids=True)]


class Recorder(pa.Hook):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_request(self, info: pa.RequestInfo) -> None:
        self.seen.append(("request", info))

    def on_response(self, info: pa.ResponseInfo) -> None:
        self.seen.append(("response", info))

    def on_call_end(self, call: pa.CallInfo) -> None:
        self.seen.append(("end", call))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.seen]


async def test_a_retried_call_reports_each_attempt_then_the_call(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(503).on("/chat-messages"))
    hook = Recorder()
    async with emulator.client(hooks=[hook], retry_policy=FAST_RETRIES) as pulse:
        reply = await pulse.chat.send("hello", user="u-1")
    assert hook.kinds() == ["request", "response", "request", "response", "end"]
    first, second = hook.seen[1][1], hook.seen[3][1]
    assert (first.attempt, first.status, first.error_type) == (1, 503, "ServiceUnavailableError")
    assert (second.attempt, second.status, second.error_type) == (2, 200, None)
    assert all(info.method == "POST" and info.path == "/chat-messages" for _, info in hook.seen)
    assert second.request_id and 0 < second.elapsed < 10
    call = hook.seen[-1][1]
    assert call.attempts == 2 and call.status == 200 and call.error_type is None
    assert call.conversation_id == reply.conversation_id
    assert call.response_id == reply.message_id
    assert call.input_tokens == reply.metadata.usage.prompt_tokens
    assert call.output_tokens == reply.metadata.usage.completion_tokens
    assert call.input_text is None and call.output_text is None  # no content by default
    shown = repr([vars_of(info) for _, info in hook.seen])
    assert emulator.api_key not in shown and "hello" not in shown and reply.answer not in shown


def vars_of(obj: Any) -> dict[str, Any]:
    names = getattr(obj, "__struct_fields__", None) or type(obj).__slots__
    return {name: getattr(obj, name, None) for name in names if name != "__weakref__"}


async def test_a_failed_call_reports_its_error_type(emulator: Emulator) -> None:
    emulator.faults.add(Fault.disconnected().on("/chat-messages"))
    hook = Recorder()
    async with emulator.client(hooks=[hook], max_retries=0) as pulse:
        with pytest.raises(pa.APIConnectionError):
            await pulse.chat.send("hi", user="u-0")
    response, call = hook.seen[1][1], hook.seen[2][1]
    assert response.status is None and response.error_type == "APIConnectionError"
    assert call.error_type == "APIConnectionError" and call.attempts == 1


async def test_a_stream_reports_when_it_ends_with_usage_and_first_event_time(
    emulator: Emulator,
) -> None:
    hook = Recorder()
    async with (
        emulator.client(hooks=[hook]) as pulse,
        pulse.chat.stream("stream it", user="u-2") as stream,
    ):
        assert hook.kinds() == ["request", "response"]  # open, not ended yet
        await stream.until_done()
    assert hook.kinds() == ["request", "response", "end"]
    call = hook.seen[-1][1]
    assert call.stream and call.error_type is None
    assert call.output_tokens == stream.usage.completion_tokens  # type: ignore[union-attr]
    assert call.conversation_id == stream.conversation_id
    assert 0 < call.time_to_first_event <= call.elapsed


async def test_a_stream_closed_early_is_cancelled_and_one_cut_off_failed(
    emulator: Emulator,
) -> None:
    hook = Recorder()
    emulator.faults.add(Fault.drop_after(2).nth(2))
    async with emulator.client(hooks=[hook], max_retries=0) as pulse:
        async with pulse.chat.stream("first", user="u-3") as stream:
            async for _ in stream:
                break
        with pytest.raises(pa.StreamInterruptedError):
            await pulse.chat.stream("second", user="u-3").until_done()
    ends = [info for kind, info in hook.seen if kind == "end"]
    assert [call.error_type for call in ends] == ["cancelled", "StreamInterruptedError"]


async def test_a_hook_that_raises_is_logged_and_the_call_goes_on(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_response(self, info: pa.ResponseInfo) -> None:
            raise ZeroDivisionError("hook bug")

    after = Recorder()
    async with emulator.client(hooks=[Broken(), after]) as pulse:
        with caplog.at_level(logging.ERROR, logger="pulseai_async"):
            info = await pulse.app.info()
    assert info.name
    assert after.kinds() == ["request", "response", "end"]  # later hooks still run
    (record,) = [r for r in caplog.records if "hook" in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError


async def test_with_options_replaces_the_hooks(emulator: Emulator) -> None:
    first, second = Recorder(), Recorder()
    async with emulator.client(hooks=[first]) as pulse:
        other = pulse.with_options(hooks=[second])
        assert other.hooks == (second,) and pulse.hooks == (first,)
        await other.app.info()
        assert (first.kinds(), second.kinds()) == ([], ["request", "response", "end"])
        await pulse.app.info()
    assert first.kinds() == ["request", "response", "end"]


async def test_content_only_for_a_hook_that_asks(emulator: Emulator) -> None:
    class Content(Recorder):
        capture_content = True

    hook = Content()
    async with emulator.client(hooks=[hook]) as pulse:
        reply = await pulse.chat.send("what is new?", user="u-4")
    call = hook.seen[-1][1]
    assert call.input_text == "what is new?" and call.output_text == reply.answer


def test_a_hook_without_hook_methods_is_refused() -> None:
    with pytest.raises(pa.PulseValidationError, match="on_request"):
        pa.AsyncPulse("app-key", hooks=[object()])
    with pytest.raises(pa.PulseValidationError, match="list"):
        pa.AsyncPulse("app-key", hooks=Recorder())  # type: ignore[arg-type]


async def test_a_call_cut_by_its_total_timeout_or_by_closing_the_client(
    emulator: Emulator,
) -> None:
    emulator.faults.add(Fault.slow(5).on("/info").always())
    hook = Recorder()
    async with emulator.client(hooks=[hook], timeout=0.3) as pulse:
        with pytest.raises(pa.APITimeoutError):
            await pulse.app.info()
    response, call = hook.seen[1][1], hook.seen[-1][1]
    assert response.status is None and response.error_type == "APITimeoutError"
    assert call.error_type == "APITimeoutError"

    hook = Recorder()
    pulse = emulator.client(hooks=[hook])
    async with pulse, anyio.create_task_group() as tasks:

        async def call() -> None:
            with pytest.raises(pa.ClientClosedError):
                await pulse.app.info()

        tasks.start_soon(call)
        await anyio.sleep(0.2)
        await pulse.aclose()
    assert hook.seen[-1][1].error_type == "ClientClosedError"
