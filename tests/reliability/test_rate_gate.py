"""The rate-limit gate: a 429's Retry-After holds back the next requests of that key and
scope (and only those), the retries then go out paced, and waiters that are cancelled
leave the gate exactly as if they had never come."""

from __future__ import annotations

import time

import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

NO_RETRIES = pa.RetryPolicy(max_retries=0)


def chat_times(emulator: Emulator) -> list[float]:
    return [r.time for r in emulator.requests if r.path == "/chat-messages"]


async def test_a_429s_retry_after_holds_the_next_request_back(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=1).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        refused_at = time.monotonic()
        with anyio.fail_after(10):
            reply = await pulse.chat.send("held back", user="u")
    sent = chat_times(emulator)
    assert len(sent) == 2  # the second request was sent once, after the wait
    assert sent[1] - sent[0] >= 0.95
    assert time.monotonic() - refused_at >= 0.9
    assert reply.answer


async def test_a_gate_wait_counts_against_the_calls_total_timeout(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=30).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        started = time.monotonic()
        with pytest.raises(pa.APITimeoutError) as caught:
            await pulse.chat.send("held past its deadline", user="u", timeout=0.5)
    assert time.monotonic() - started < 5  # the call's 0.5 s, not the gate's 30 s
    assert caught.value.phase == "total" and caught.value.stage == "connect"
    assert len(chat_times(emulator)) == 1  # the held request was never sent


async def test_without_the_gate_the_next_request_goes_at_once(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=2).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES, rate_limit_gate=False) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        with anyio.fail_after(1.5):
            await pulse.chat.send("not held", user="u")


async def test_the_gate_is_per_scope_and_shared_with_copies(emulator: Emulator) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=2).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        with anyio.fail_after(1.5):  # the Knowledge key's quota is another quota
            async for _ in pulse.datasets.list():
                break
        with anyio.move_on_after(1.0) as held:  # a with_options copy shares the gate
            await pulse.with_options(timeout=30).chat.send("held", user="u")
        assert held.cancelled_caught


async def test_the_plans_rate_limit_error_does_not_close_the_gate(emulator: Emulator) -> None:
    emulator.faults.add(
        Fault.http_error(429, "rate_limit_error", retry_after=5).on("/chat-messages").nth(1)
    )
    async with emulator.client(retry_policy=NO_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("quota", user="u")
        with anyio.fail_after(2):  # waiting does not fix a plan quota: nothing is held
            await pulse.chat.send("next", user="u")


@pytest.mark.pulseai_emulator(answer="a b c d")
async def test_an_in_stream_rate_limit_error_closes_the_gate(emulator: Emulator) -> None:
    emulator.faults.add(Fault.error_after(2, "too_many_requests", status=429))
    async with emulator.client(retry_policy=NO_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            async with pulse.chat.stream("refused mid-stream", user="u") as stream:
                async for _ in stream:
                    pass
        with anyio.move_on_after(0.8) as held:
            await pulse.chat.send("held", user="u")
        assert held.cancelled_caught
        with anyio.fail_after(10):
            await pulse.chat.send("after the default second", user="u")


async def test_retries_after_a_storm_go_out_paced_and_are_refused_far_less(
    emulator: Emulator,
) -> None:
    """40 chats against 10 requests a second: with the gate the retries follow the pace
    the server accepted; each on its own, every Retry-After brings the herd back."""
    refused = {}
    for gated in (True, False):
        emulator.reset()
        fault = emulator.faults.add(Fault.rate_limit(10).on("/chat-messages"))
        policy = pa.RetryPolicy(max_retries=20)
        gate = pa.LocalRateLimitGate(window=8) if gated else False
        async with emulator.client(retry_policy=policy, rate_limit_gate=gate) as pulse:
            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for i in range(40):
                        tg.start_soon(lambda i=i: pulse.chat.send(f"q{i}", user=f"u{i}"))
        refused[gated] = fault.applied
        assert len(chat_times(emulator)) == 40 + fault.applied  # every chat answered
    # on its own the herd is refused 60 times; through the gate about one burst's worth
    assert refused[True] * 2 <= refused[False], refused


# --- the gate itself, through its protocol ----------------------------------------------


async def test_cancelled_waiters_release_nothing_twice() -> None:
    """One request may wait for a first answer at a time: of three waiting behind it,
    one is cancelled; the release that follows admits exactly one more."""
    gate = pa.LocalRateLimitGate(window=1, window_wait=30)
    key = pa.gate_key("app-secret", "app")
    admitted: list[str] = []

    async def request(name: str, scope: anyio.CancelScope | None = None) -> None:
        with scope or anyio.CancelScope():
            await gate.acquire(key)
            admitted.append(name)

    with anyio.fail_after(5):
        await request("first")
        async with anyio.create_task_group() as tg:
            cancelled = anyio.CancelScope()
            tg.start_soon(request, "cancelled", cancelled)
            await anyio.sleep(0.05)
            cancelled.cancel()
            tg.start_soon(request, "second")
            tg.start_soon(request, "third")
            await anyio.sleep(0.05)
            assert admitted == ["first"]
            await gate.release(key, answered=False)
            await anyio.sleep(0.3)  # past the short settle of a request let in late
            assert admitted == ["first", "second"]  # one place freed, one admitted
            await gate.release(key, answered=False)
    assert admitted == ["first", "second", "third"]


async def test_a_cancelled_paced_wait_keeps_the_pace_for_the_others() -> None:
    gate = pa.LocalRateLimitGate(window=None)
    key = pa.gate_key("app-secret", "app")
    await gate.release(key, answered=True)
    await gate.release(key, answered=True)
    await gate.refused(key, 0.2)  # 2 accepted in the last second: pace 2/s
    admitted: list[float] = []

    async def request(scope: anyio.CancelScope | None = None) -> None:
        with scope or anyio.CancelScope():
            await gate.acquire(key)
            admitted.append(time.monotonic())

    start = time.monotonic()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            cancelled = [anyio.CancelScope(), anyio.CancelScope()]
            for scope in cancelled:
                tg.start_soon(request, scope)
            await anyio.sleep(0.01)
            for scope in cancelled:
                scope.cancel()
            tg.start_soon(request)
            tg.start_soon(request)
    assert len(admitted) == 2
    assert admitted[0] - start >= 0.19  # the gate stayed closed for the Retry-After
    # then one per 1/pace (0.5 s, less up to half of it in jitter), not both at once
    assert admitted[1] - admitted[0] >= 0.2


async def test_try_acquire_admits_at_once_while_open_and_never_while_closed() -> None:
    gate = pa.LocalRateLimitGate(window=2)
    key = pa.gate_key("app-secret", "app")
    assert gate.try_acquire(key) and gate.try_acquire(key)
    assert not gate.try_acquire(key)  # the window of 2 is full: the caller must wait
    await gate.release(key, answered=False)
    assert gate.try_acquire(key)
    await gate.refused(key, 0.3)
    await gate.release(key, answered=False)
    await gate.release(key, answered=False)
    assert not gate.try_acquire(key)  # closed by the refusal, however empty the window
    with anyio.fail_after(5):
        await gate.acquire(key)  # waits out the Retry-After instead


async def test_a_request_behind_an_unanswered_window_goes_after_window_wait() -> None:
    """A slow server is not a refusing one: a request waiting behind a window no answer
    has freed goes once it has waited `window_wait`, and takes a place like any other
    (freed by its own release, not before)."""
    gate = pa.LocalRateLimitGate(window=1, window_wait=0.4)
    key = pa.gate_key("app-secret", "app")
    await gate.acquire(key)  # the window's one place, its answer not come yet
    started = time.monotonic()
    with anyio.fail_after(5):
        await gate.acquire(key)
    waited = time.monotonic() - started
    assert 0.4 <= waited < 0.4 + 1.0, waited  # window_wait, then the short settle
    await gate.release(key, answered=False)
    assert not gate.try_acquire(key)  # the late request still holds a place
    await gate.release(key, answered=False)
    assert gate.try_acquire(key)


async def test_a_request_let_in_by_an_answer_waits_for_that_bursts_refusals() -> None:
    """Answers come in the order sent: a refusal of the same burst that lands just after
    the answer that let a request in still holds that request back."""
    gate = pa.LocalRateLimitGate(window=1, window_wait=30)
    key = pa.gate_key("app-secret", "app")
    await gate.acquire(key)  # the window's one place
    admitted: list[float] = []

    async def request() -> None:
        await gate.acquire(key)
        admitted.append(time.monotonic())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(request)
            await anyio.sleep(0.05)
            await gate.release(key, answered=True)  # lets the waiting request in...
            await anyio.sleep(0.02)
            refused_at = time.monotonic()
            await gate.refused(key, 0.5)  # ...and the burst's refusal lands 20 ms later
    assert admitted[0] - refused_at >= 0.45  # it waited out the Retry-After


async def test_a_request_cancelled_after_it_was_let_in_passes_its_place_on_once() -> None:
    gate = pa.LocalRateLimitGate(window=1, window_wait=30)
    key = pa.gate_key("app-secret", "app")
    await gate.acquire(key)
    admitted: list[str] = []
    cancelled = anyio.CancelScope()

    async def request() -> None:
        with cancelled:
            await gate.acquire(key)
            admitted.append("despite being cancelled")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(request)
            await anyio.sleep(0.05)
            await gate.release(key, answered=False)  # its place, taken while it settles
            cancelled.cancel()
    assert admitted == []
    assert gate.try_acquire(key)  # the place came back...
    assert not gate.try_acquire(key)  # ...once: the window still has one place


async def test_a_gate_with_only_the_three_coroutines_holds_requests_back(
    emulator: Emulator,
) -> None:
    class ProtocolOnly:
        """A user's gate: the protocol's three coroutines, no `try_acquire`."""

        def __init__(self) -> None:
            self.inner = pa.LocalRateLimitGate()
            self.acquired = 0

        async def acquire(self, key: str) -> None:
            self.acquired += 1
            await self.inner.acquire(key)

        async def release(self, key: str, *, answered: bool) -> None:
            await self.inner.release(key, answered=answered)

        async def refused(self, key: str, retry_after: float) -> None:
            await self.inner.refused(key, retry_after)

    gate = ProtocolOnly()
    emulator.faults.add(Fault.http_error(429, retry_after=1).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES, rate_limit_gate=gate) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        with anyio.fail_after(10):
            await pulse.chat.send("held back", user="u")
    sent = chat_times(emulator)
    assert gate.acquired == 2 and len(sent) == 2
    assert sent[1] - sent[0] >= 0.95


async def test_a_gate_with_release_now_is_released_by_it_once_per_attempt(
    emulator: Emulator,
) -> None:
    class NonWaitingRelease:
        """A user's gate whose release never waits: it offers `release_now` too."""

        def __init__(self) -> None:
            self.released: list[bool] = []

        async def acquire(self, key: str) -> None:
            pass

        async def release(self, key: str, *, answered: bool) -> None:
            raise AssertionError("release_now was there to call")

        def release_now(self, key: str, *, answered: bool) -> None:
            self.released.append(answered)

        async def refused(self, key: str, retry_after: float) -> None:
            pass

    gate = NonWaitingRelease()
    emulator.faults.add(Fault.http_error(429, retry_after=0).on("/chat-messages").nth(1))
    async with emulator.client(retry_policy=NO_RETRIES, rate_limit_gate=gate) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("refused", user="u")
        emulator.faults.add(Fault.http_error(500).on("/chat-messages").nth(1))
        with pytest.raises(pa.InternalServerError):
            await pulse.chat.send("failed", user="u")
        await pulse.chat.send("answered", user="u")
    assert gate.released == [False, True, True]  # a refusal is not an answer; a 500 is


async def test_a_gate_must_have_the_protocols_methods() -> None:
    with pytest.raises(pa.PulseValidationError, match="rate_limit_gate"):
        pa.AsyncPulse(api_key="app-k", rate_limit_gate=object())  # type: ignore[arg-type]
    assert isinstance(pa.LocalRateLimitGate(), pa.RateLimitGate)


def test_a_quota_key_never_contains_the_api_key() -> None:
    key = pa.gate_key("app-very-secret-key", "app")
    assert "secret" not in key and key.startswith("app:")
    assert key != pa.gate_key("app-very-secret-key", "knowledge")
