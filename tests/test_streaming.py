"""Streaming against the emulator (and a purpose-built server for odd wire shapes):
text, connection release and reuse, in-stream errors, drops, retries, cancel."""

from collections.abc import AsyncIterator

import anyio
import msgspec
import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import FAST_RETRIES, Serve, checked_out

pytestmark = pytest.mark.anyio

LONG_ANSWER = " ".join(f"w{i}" for i in range(10_000))


def idle_connections(client: pa.AsyncPulse) -> list[object]:
    connector = client.connector
    assert connector is not None
    return [proto for conns in connector._conns.values() for proto, _ in conns]


async def test_ten_thousand_events_yield_exactly_the_text(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    async with emulator.client() as pulse:
        deltas = 0
        async with pulse.chat.stream("long", user="u") as stream:
            async for event in stream:
                if isinstance(event, pa.MessageEvent) and event.answer:
                    deltas += 1  # a chatflow also streams an empty `sys.files` piece
        assert deltas == 10_000
        assert stream.text == LONG_ANSWER
        assert stream.finished
        assert stream.usage is not None
        assert stream.usage.completion_tokens == 10_000
        assert checked_out(pulse) == 0


async def test_ids_are_known_from_the_first_event(pulse: pa.AsyncPulse) -> None:
    async with pulse.chat.stream("hi", user="u") as stream:
        first = await stream.__anext__()  # a chatflow's `workflow_started`
        assert isinstance(first, pa.WorkflowStarted)
        assert stream.task_id == first.task_id
        assert stream.conversation_id == first.conversation_id
        assert stream.message_id is not None
        rest = await stream.final_text()
    assert rest.startswith("You asked: hi")


@pytest.mark.pulseai_emulator(app_mode="chat")  # one `message` event per token
async def test_helpers_text_deltas_final_text_and_message(emulator: Emulator) -> None:
    emulator.answer = "one two three"
    async with emulator.client() as pulse:
        async with pulse.chat.stream("q", user="u") as stream:
            assert [d async for d in stream.text_deltas()] == ["one ", "two ", "three"]
        async with pulse.chat.stream("q", user="u") as stream:
            snapshots = [s async for s in stream.text_snapshots()]
        assert snapshots == ["one ", "one two ", "one two three"]
        message = await pulse.chat.stream("q", user="u").final_message()
        assert message.answer == "one two three"
        assert message.metadata.usage is not None
        assert checked_out(pulse) == 0


async def test_a_stream_continues_its_conversation(pulse: pa.AsyncPulse) -> None:
    first = await pulse.chat.stream("hello", user="u").final_message()
    async with pulse.chat.stream("again", user="u", conversation_id=first.conversation_id) as s:
        await s.until_done()
    assert s.conversation_id == first.conversation_id


async def test_normal_end_returns_the_connection_for_reuse(pulse: pa.AsyncPulse) -> None:
    async with pulse.chat.stream("one", user="u") as stream:
        await stream.until_done()
    assert checked_out(pulse) == 0
    pooled = idle_connections(pulse)
    assert len(pooled) == 1
    await pulse.chat.stream("two", user="u").final_text()  # plain use, no `async with`
    assert idle_connections(pulse) == pooled  # the same connection served both


async def test_break_leaves_no_connection_checked_out(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    async with emulator.client() as pulse:
        async with pulse.chat.stream("q", user="u") as stream:
            async for _ in stream:
                break
        assert checked_out(pulse) == 0
        assert idle_connections(pulse) == []  # half-read: closed, never reused


async def test_exception_inside_async_with_leaves_none_checked_out(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    async with emulator.client() as pulse:
        with pytest.raises(KeyError):
            async with pulse.chat.stream("q", user="u") as stream:
                async for _ in stream:
                    raise KeyError("boom")
        assert checked_out(pulse) == 0


async def test_task_cancellation_leaves_none_checked_out(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    emulator.token_delay = 0.005
    started = anyio.Event()
    async with emulator.client() as pulse:

        async def consume() -> None:
            async with pulse.chat.stream("q", user="u") as stream:
                async for _ in stream:
                    started.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await started.wait()
            tg.cancel_scope.cancel()
        assert checked_out(pulse) == 0


async def test_cancel_scope_timeout_leaves_none_checked_out(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    emulator.token_delay = 0.005
    async with emulator.client() as pulse:
        with anyio.CancelScope() as scope:  # a deadline that expires mid-stream
            async with pulse.chat.stream("q", user="u") as stream:
                async for _ in stream:
                    if stream.events_received == 5:
                        scope.deadline = anyio.current_time() + 0.05
        assert scope.cancelled_caught
        assert 0 < stream.events_received < 10_000
        assert checked_out(pulse) == 0


async def test_plain_iteration_then_aclose_releases(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    async with emulator.client() as pulse:
        stream = pulse.chat.stream("q", user="u")
        async for _ in stream:
            break
        await stream.aclose()
        assert checked_out(pulse) == 0


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("provider_quota_exceeded", 400, pa.ProviderQuotaExceededError),
        ("completion_request_error", 400, pa.CompletionRequestError),
        ("internal_server_error", 500, pa.InternalServerError),
    ],
)
async def test_in_stream_error_raises_the_mapped_class(
    emulator: Emulator, code: str, status: int, cls: type[pa.APIStatusError]
) -> None:
    emulator.answer = "a b c d e f g h i j k l"
    emulator.faults.add(path="/chat-messages", after_events=3, error_code=code, error_status=status)
    async with emulator.client() as pulse:
        with anyio.fail_after(3):  # the server keeps pinging after the error: we must not wait
            with pytest.raises(cls) as caught:
                async with pulse.chat.stream("q", user="u") as stream:
                    await stream.until_done()
        assert caught.value.status == status
        assert caught.value.code == code
        assert stream.text == "a b c "
        assert checked_out(pulse) == 0
    assert emulator.hits("/chat-messages") == 1  # never retried after events were yielded


@pytest.mark.pulseai_emulator(app_mode="chat")  # both modes: tests/reliability/test_faults.py
async def test_dropped_connection_raises_with_the_partial_text(emulator: Emulator) -> None:
    emulator.answer = "a b c d e f g h i j"
    emulator.faults.add(path="/chat-messages", after_events=4, drop=True)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.StreamInterruptedError) as caught:
            async with pulse.chat.stream("q", user="u") as stream:
                await stream.until_done()
        assert checked_out(pulse) == 0
    assert caught.value.partial_text == "a b c d "
    assert caught.value.events_received == 4
    assert isinstance(caught.value, pa.APIConnectionError)
    assert emulator.hits("/chat-messages") == 1  # no replay of a started answer


async def test_malformed_frame_is_a_decode_error(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", after_events=2, malformed=True)
    async with emulator.client() as pulse:
        with pytest.raises(pa.ResponseDecodeError):
            async with pulse.chat.stream("q", user="u") as stream:
                await stream.until_done()
        assert checked_out(pulse) == 0


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retried_before_the_first_event(emulator: Emulator, status: int) -> None:
    emulator.faults.add(path="/chat-messages", status=status, times=2)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        text = await pulse.chat.stream("q", user="u").final_text()
    assert text
    assert emulator.hits("/chat-messages") == 3


async def test_error_status_before_the_body_raises_on_entry(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=400, code="app_unavailable")
    async with emulator.client() as pulse:
        with pytest.raises(pa.AppUnavailableError):
            async with pulse.chat.stream("q", user="u"):
                pass
        assert checked_out(pulse) == 0


async def test_no_total_time_limit_on_a_long_stream(emulator: Emulator) -> None:
    emulator.answer = " ".join(["tok"] * 40)
    emulator.token_delay = 0.02  # ~0.8 s in all, each gap far under the read timeout
    timeout = pa.Timeout(connect=2, read=2, total=0.3)
    async with emulator.client(timeout=timeout) as pulse:
        text = await pulse.chat.stream("q", user="u").final_text()
    assert text == emulator.answer


def stream_start(emulator: Emulator) -> str:
    from pulseai_async.testing._chat_routes import tokens_of

    return "".join(tokens_of(emulator.answer_for("q"))[:2])


async def test_stall_mid_stream_hits_the_read_timeout(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", after_events=2, stall=5.0)
    async with emulator.client(timeout=pa.Timeout(connect=2, read=0.3)) as pulse:
        with anyio.fail_after(4):
            with pytest.raises(pa.APITimeoutError) as caught:
                await pulse.chat.stream("q", user="u").final_text()
        assert checked_out(pulse) == 0
    assert isinstance(caught.value, pa.StreamInterruptedError)
    assert caught.value.phase == "read"
    assert caught.value.partial_text == stream_start(emulator)


async def test_cancel_stops_the_generation_on_the_server(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    emulator.token_delay = 0.01
    async with emulator.client() as pulse:
        async with pulse.chat.stream("q", user="u") as stream:
            async for _ in stream:
                if stream.events_received == 5:
                    assert await stream.cancel()
        assert checked_out(pulse) == 0
    task_id = stream.task_id
    assert task_id is not None
    assert emulator.hits(f"/chat-messages/{task_id}/stop", "POST") == 1
    stop = next(r for r in emulator.requests if r.path.endswith("/stop"))
    assert stop.json() == {"user": "u"}
    assert emulator.state.tasks[task_id].stopped.is_set()
    assert stream.text.count("w") < 5_000  # the stream ended long before the whole answer


@pytest.mark.parametrize("style", ["compact", "ascii"])
@pytest.mark.parametrize("ping_first", [True, False])
async def test_server_variants_give_the_same_text(style: str, ping_first: bool) -> None:
    answer = "héllo 世界 \u2028 🎉 done"
    emulator = Emulator(answer=answer, json_style=style, ping_first=ping_first)
    async with emulator, emulator.client() as pulse:
        assert await pulse.chat.stream("q", user="u").final_text() == answer


# --- odd wire shapes, from a purpose-built server ------------------------------------


def envelope(event: str, **fields: object) -> dict:
    return {
        "event": event,
        "task_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
        "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
        "created_at": 1,
        **fields,
    }


@pytest.fixture
async def raw_server(serve: Serve) -> AsyncIterator:
    """Serves whatever bytes the test sets, as an SSE response, over loopback."""
    wire: dict[str, bytes] = {"body": b""}

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        body = wire["body"]
        for i in range(0, len(body), 7):  # awkward chunking on purpose
            await response.write(body[i : i + 7])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", handler)
    async with pa.AsyncPulse("k", base_url=await serve(app)) as pulse:
        yield wire, pulse


def frames(*events: dict, sep: bytes = b"\n\n") -> bytes:
    return b"".join(b"data: " + msgspec.json.encode(e) + sep for e in events)


async def test_message_replace_replaces_the_text(raw_server) -> None:
    wire, pulse = raw_server
    wire["body"] = frames(
        envelope("message", answer="bad "),
        envelope("message", answer="words"),
        envelope("message_replace", answer="[removed]", reason="moderation"),
        envelope("message_end", metadata={}),
    )
    async with pulse.chat.stream("q", user="u") as stream:
        deltas = [d async for d in stream.text_deltas()]
    assert deltas == ["bad ", "words", "[removed]"]
    assert stream.text == "[removed]"
    assert stream.replaced


async def test_unknown_events_pass_through_typed(raw_server) -> None:
    wire, pulse = raw_server
    wire["body"] = (
        b": comment\r\n\r\nevent: ping\r\n\r\n"
        + frames(envelope("message", answer="x"), sep=b"\r\n\r\n")
        + frames(envelope("brand_new_event", payload={"k": 1}))
        + frames(envelope("agent_message", answer="y"), envelope("message_end", metadata={}))
    )
    async with pulse.chat.stream("q", user="u") as stream:
        events = [e async for e in stream]
    assert [type(e).__name__ for e in events] == [
        "MessageEvent",
        "UnknownEvent",
        "AgentMessageEvent",
        "MessageEnd",
    ]
    unknown = events[1]
    assert isinstance(unknown, pa.UnknownEvent)
    assert unknown.event == "brand_new_event"
    assert unknown.data["payload"] == {"k": 1}
    assert stream.text == "xy"


async def test_workflow_events_are_typed_and_workflow_finished_ends(raw_server) -> None:
    wire, pulse = raw_server
    wire["body"] = frames(
        envelope("workflow_started", workflow_run_id="r", data={"id": "r", "workflow_id": "w"}),
        envelope("node_started", workflow_run_id="r", data={"id": "n", "node_id": "n1"}),
        envelope("message", answer="ok"),
        envelope("node_finished", workflow_run_id="r", data={"id": "n", "node_id": "n1"}),
        envelope("workflow_finished", workflow_run_id="r", data={"id": "r", "status": "succeeded"}),
    )
    async with pulse.chat.stream("q", user="u") as stream:
        names = [e.event async for e in stream]
    assert names == [
        "workflow_started",
        "node_started",
        "message",
        "node_finished",
        "workflow_finished",
    ]
    assert stream.finished


async def test_eof_without_a_terminal_event_is_interrupted(raw_server) -> None:
    wire, pulse = raw_server
    wire["body"] = frames(envelope("message", answer="half "), envelope("message", answer="way"))
    with pytest.raises(pa.StreamInterruptedError) as caught:
        await pulse.chat.stream("q", user="u").final_text()
    assert caught.value.partial_text == "half way"
    assert checked_out(pulse) == 0


async def test_event_over_the_size_bound_is_a_typed_error(raw_server) -> None:
    wire, pulse = raw_server
    wire["body"] = frames(envelope("message", answer="x" * 5000), envelope("message_end"))
    small = pulse.with_options(max_event_size=1024)
    with pytest.raises(pa.EventTooLargeError):
        await small.chat.stream("q", user="u").final_text()
    assert checked_out(pulse) == 0


async def test_a_malformed_event_echoing_the_key_keeps_it_out_of_the_error(raw_server) -> None:
    wire, pulse = raw_server
    key = "app-secret-key-echoed-0123"
    wire["body"] = frames(
        envelope("message", answer="partial "),
        envelope("message", answer=12, echoed=f"Bearer {key}"),  # answer of the wrong type
    )
    async with pa.AsyncPulse(key, base_url=pulse.base_url) as keyed:
        with pytest.raises(pa.ResponseDecodeError) as caught:
            await keyed.chat.stream("q", user="u").final_text()
    error = caught.value
    assert error.partial_text == "partial "
    assert b"echoed" in error.body  # the body is kept for debugging...
    for shown in (str(error), repr(error), repr(error.body)):
        assert key not in shown  # ...without the key


# --- closing from another task ---------------------------------------------------------


async def test_aclose_from_another_task_ends_the_iteration_quietly(emulator: Emulator) -> None:
    emulator.answer = LONG_ANSWER
    emulator.token_delay = 0.01
    async with emulator.client() as pulse:
        stream = pulse.chat.stream("q", user="u")
        seen: list[pa.ChatEvent] = []

        async def read() -> None:
            async for event in stream:
                seen.append(event)
                if len(seen) == 3:
                    tg.start_soon(stream.aclose)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
        assert 3 <= len(seen) < 100
        assert not stream.finished
        assert checked_out(pulse) == 0


async def test_cancel_while_the_response_starts_ends_the_stream(emulator: Emulator) -> None:
    emulator.answer = "never read"
    emulator.faults.add(path="/chat-messages", method="POST", delay=0.3)
    async with emulator.client() as pulse:
        stream = pulse.chat.stream("q", user="u")
        seen: list[pa.ChatEvent] = []

        async def read() -> None:
            async for event in stream:
                seen.append(event)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await anyio.sleep(0.1)  # the request is sent, its answer not started
                assert await stream.cancel() is False  # no task id known yet
        assert seen == []
        assert stream.text == ""
        assert checked_out(pulse) == 0


async def test_a_stream_is_read_once_and_a_closed_one_is_not_sent(emulator: Emulator) -> None:
    emulator.answer = "one two"
    async with emulator.client() as pulse:
        stream = pulse.chat.stream("q", user="u")
        assert await stream.final_text() == "one two"
        assert [event async for event in stream] == []  # not replayed, not re-sent
        assert await stream.final_text() == "one two"  # the accumulated state stays
        assert emulator.hits("/chat-messages") == 1

        unused = pulse.chat.stream("q", user="u")
        assert await unused.cancel() is False
        with pytest.raises(RuntimeError, match="closed"):
            async with unused:
                pass
        assert emulator.hits("/chat-messages") == 1
        assert checked_out(pulse) == 0
