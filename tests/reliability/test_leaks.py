"""Leaks: thousands of streams abandoned early leave no memory, connections, file
descriptors or "Unclosed ..." warnings behind. (pytest runs with warnings as errors,
so a `ResourceWarning` from any of them fails the test.)"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import tracemalloc
import warnings
import weakref
from collections import Counter
from typing import Any

import anyio
import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import Serve, checked_out
from .conftest import EmulatorProcess, emulator_process_fixture, open_fds, wait_for_fds
from .test_hostile_timeouts import event

pytestmark = pytest.mark.anyio

WARM_UP = 300
STREAMS = 5000
CEILING = 2 * 1024 * 1024  # bytes still allocated after 5,000 broken-off streams


emulator_process = emulator_process_fixture("--answer", "Short answer, three events.")


async def test_5000_streams_broken_off_early_do_not_leak(
    emulator_process: EmulatorProcess,
) -> None:
    async def broken_off(pulse: pa.AsyncPulse, index: int) -> None:
        async with pulse.chat.stream(f"q{index}", user="leaky") as stream:
            async for event in stream:  # a chatflow's workflow events come first
                if isinstance(event, pa.MessageEvent):
                    break  # the connection must be closed, the rest of the answer dropped
        assert not stream.finished and stream.text

    with anyio.fail_after(110), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        baseline_fds = open_fds()
        async with pa.AsyncPulse(
            emulator_process.api_key, base_url=emulator_process.base_url
        ) as pulse:
            for index in range(WARM_UP):  # pools, caches and interned strings settle
                await broken_off(pulse, index)
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for index in range(STREAMS):
                    await broken_off(pulse, index)
                    assert checked_out(pulse) == 0
                gc.collect()
                growth = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
        assert await wait_for_fds(baseline_fds) == baseline_fds
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    unclosed += [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert unclosed == []
    print(f"\n{STREAMS} broken-off streams: tracemalloc growth {growth / 1024:.1f} KiB")
    assert growth < CEILING


# --- what a finished call leaves is freed at once, by reference counting -----------------


async def _read_to_the_end(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    async with pulse.chat.stream("q", user="u") as stream:
        await stream.final_text()


async def _broken_off(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    async with pulse.chat.stream("q", user="u") as stream:
        async for event in stream:
            if isinstance(event, pa.MessageEvent):
                break


async def _cut_mid_way(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    emulator.faults.add(Fault.drop_after(2))
    with pytest.raises(pa.StreamInterruptedError):
        async with pulse.chat.stream("q", user="u") as stream:
            await stream.final_text()


async def _audio(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    await pulse.audio.text_to_audio("Hello there.", user="u").read()


async def _blocking(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    await pulse.chat.send("q", user="u")


async def _refused(pulse: pa.AsyncPulse, emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(400))
    with pytest.raises(pa.BadRequestError):
        await pulse.chat.send("q", user="u")


def _clients_garbage() -> list[str]:
    """The SDK's and aiohttp's client objects among what the cycle collector finds
    (the emulator's own, in this process, are not the client's)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        names = [f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return [name for name in names if name.startswith("aiohttp.client") or _the_sdks(name)]


def _the_sdks(name: str) -> bool:
    """Whether a qualified name is the SDK's (its emulator, in this process, aside)."""
    return name.startswith("pulseai_async.") and not name.startswith("pulseai_async.testing")


@pytest.mark.parametrize(
    "call", [_read_to_the_end, _broken_off, _cut_mid_way, _audio, _blocking, _refused]
)
async def test_a_finished_call_is_freed_at_once_not_left_to_the_cycle_collector(
    pulse: pa.AsyncPulse, emulator: Emulator, call: Any
) -> None:
    # What a call leaves in a reference cycle (its response, buffers, events) stays
    # until the collector runs: memory that grows with concurrency, and full collections
    # whose CPU time grows with everything the process holds. Before the fix every stream
    # was (its `BodyBounds` held the stream's own method), and so was every failed call
    # (the error held the frame that raised it, in its traceback, which held the error).
    await call(pulse, emulator)  # caches and pools settle
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            await call(pulse, emulator)
        assert _clients_garbage() == []
    finally:
        gc.enable()


# --- what a call keeps of its caller's context ---------------------------------------------


class _RequestState:
    """Stands for what a web framework or a tracer keeps in a context variable."""


_request_state: contextvars.ContextVar[_RequestState] = contextvars.ContextVar("request_state")


@pytest.mark.parametrize("call", [_read_to_the_end, _broken_off, _cut_mid_way, _audio, _blocking])
async def test_a_finished_call_keeps_nothing_of_its_callers_context(
    pulse: pa.AsyncPulse, emulator: Emulator, call: Any
) -> None:
    # asyncio runs a timer in a copy of the context it was armed in, and a cancelled
    # timer stays on the loop until its time comes: the stream's read bound (300 s) and
    # the call's total, armed in a web handler's task, kept that request's context
    # variables alive for minutes after the stream ended; a blocking call's read bound
    # was aiohttp's timer, which did the same.
    await pulse.chat.send("q", user="u")  # a pooled connection, opened outside the handler
    timed = pulse.with_options(timeout=pa.Timeout(total=120.0, read=300.0))

    async def handler() -> weakref.ref[_RequestState]:
        state = _RequestState()
        _request_state.set(state)
        await call(timed, emulator)
        return weakref.ref(state)

    state = await asyncio.create_task(handler())  # a task of its own, as a request has
    await asyncio.sleep(0)  # (the step that woke this test holds the finished task)
    gc.collect()
    assert state() is None


async def test_a_blocking_call_leaves_its_tasks_context_variables_as_it_found_them(
    pulse: pa.AsyncPulse,
) -> None:
    # The answer's prices are Decimals, and the first Decimal made in a task stores a
    # decimal context in that task's context variables, where it stayed (four objects
    # for the cycle collector to walk) until the task ended: in every web handler or
    # bot task that made a call.
    async def handler() -> tuple[set[object], set[object], pa.ChatMessage]:
        before = set(contextvars.copy_context())
        reply = await pulse.chat.send("q", user="u")
        return before, set(contextvars.copy_context()), reply

    # (in a fresh context: this test's own may have a decimal context already)
    before, after, reply = await asyncio.create_task(handler(), context=contextvars.Context())
    assert reply.usage is not None and reply.usage.total_price is not None  # (decoded)
    assert after == before


async def test_a_connection_keeps_nothing_of_the_context_it_was_opened_in(
    emulator: Emulator,
) -> None:
    # A new connection's transport reads in a copy of the context it was made in, for
    # as long as the pool keeps the connection: whichever handler first needed it stayed
    # alive with it.
    async with emulator.client() as pulse:

        async def handler() -> weakref.ref[_RequestState]:
            state = _RequestState()
            _request_state.set(state)
            await _read_to_the_end(pulse, emulator)  # opens the pool's first connection
            return weakref.ref(state)

        state = await asyncio.create_task(handler())
        await asyncio.sleep(0)
        gc.collect()
        assert state() is None
        assert sum(map(len, pulse.connector._conns.values())) == 1  # (still pooled)


# --- what an open stream holds --------------------------------------------------------------


def _held_app(release: asyncio.Event) -> web.Application:
    """A chat answer that waits after its first event until `release` is set."""

    async def chat(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Request-Id": "req-held"}
        )
        await response.prepare(request)
        await response.write(event("hi "))
        await release.wait()
        await response.write(event("", "message_end"))
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", chat)
    return app


def _sdk_objects_tracked() -> Counter[str]:
    """The SDK's objects the cycle collector tracks (the test server's aside)."""
    return Counter(
        type(o).__qualname__
        for o in gc.get_objects()
        if isinstance(module := type(o).__module__, str)  # (a class's metaclass: not)
        and _the_sdks(f"{module}.")
    )


class _Ends(pa.Hook):
    def __init__(self) -> None:
        self.ends: list[pa.CallInfo] = []

    def on_call_end(self, call: pa.CallInfo) -> None:
        self.ends.append(call)


@pytest.mark.parametrize("hooked", [False, True], ids=["no hook", "a hook"])
async def test_an_open_stream_gives_the_cycle_collector_only_its_own_objects(
    serve: Serve, hooked: bool
) -> None:
    # Every full collection walks every tracked object a bot's thousand open streams
    # hold, and each one they make counts towards the next collection. An open stream
    # that no hook reads holds five of the SDK's: itself, its opener, its body bounds,
    # its event decoder and its response (aiohttp's, subclassed). Its request id and
    # headers come from that response; a hook's stream has its `Trace` and `CallInfo`
    # besides. (The opener stays tracked: untracked, it would hide its client from the
    # collection that frees an abandoned stream's cycle, and the client's own cycles
    # would wait for the next.)
    release = asyncio.Event()
    url = await serve(_held_app(release))
    opened: list[pa.ChatStream] = []
    hook = _Ends()
    count = 20

    async def read(pulse: pa.AsyncPulse, index: int) -> pa.ChatStream:
        async with pulse.chat.stream(f"q{index}", user="u") as stream:
            opened.append(stream)
            if index % 2:
                await stream.until_done()
            else:
                async for _ in stream:
                    pass
        return stream

    async with pa.AsyncPulse("app-k", base_url=url, hooks=[hook] if hooked else []) as pulse:
        release.set()  # the first stream settles imports, caches and the pool
        await read(pulse, 1)
        release.clear()
        opened.clear()
        gc.collect()
        before = _sdk_objects_tracked()
        reads = [asyncio.ensure_future(read(pulse, index)) for index in range(count)]
        for _ in range(1000):  # until every stream has read its first event (10 s at most)
            if len(opened) == count and all(stream.events_received for stream in opened):
                break
            await asyncio.sleep(0.01)
        held = _sdk_objects_tracked() - before
        release.set()
        streams = await asyncio.gather(*reads)
    own = dict.fromkeys(
        ("ChatStream", "StreamOpener", "BodyBounds", "SSEDecoder", "Response"), count
    )
    assert dict(held) == (own | {"Trace": count, "CallInfo": count} if hooked else own)
    assert all(s.finished and s.text == "hi " and s.request_id == "req-held" for s in streams)
    assert all(s.headers is not None and s.headers["x-request-id"] == "req-held" for s in streams)
    if hooked:
        assert [call.request_id for call in hook.ends] == ["req-held"] * (count + 1)
