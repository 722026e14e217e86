"""Load: a thousand concurrent streamed chats over one client, against the emulator in
its own process, all complete with the right text, and leave nothing open behind."""

from __future__ import annotations

import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing._emulator import default_answer

from ..conftest import checked_out
from .conftest import (
    EmulatorProcess,
    emulator_process_fixture,
    ensure_fd_limit,
    open_fds,
    wait_for_fds,
)

pytestmark = pytest.mark.anyio

STREAMS = 1000


# 40 ms between tokens makes each answer last about a second, so the
# thousand streams really are open at the same time.
emulator_process = emulator_process_fixture("--token-delay", "0.04")


async def test_thousand_concurrent_streams_over_one_client(
    emulator_process: EmulatorProcess,
) -> None:
    ensure_fd_limit(STREAMS + 512)
    baseline = open_fds()
    texts: dict[int, str] = {}
    usages: dict[int, int] = {}
    peak = 0

    async def chat(pulse: pa.AsyncPulse, index: int) -> None:
        async with pulse.chat.stream(f"question {index}", user=f"user-{index}") as stream:
            texts[index] = await stream.final_text()
        assert stream.finished and stream.usage is not None
        usages[index] = stream.usage.completion_tokens

    with anyio.fail_after(100):
        async with pa.AsyncPulse(
            emulator_process.api_key,
            base_url=emulator_process.base_url,
            timeout=pa.Timeout(connect=60, read=60),
        ) as pulse:
            async with anyio.create_task_group() as group:
                for index in range(STREAMS):
                    group.start_soon(chat, pulse, index)
                while len(texts) < STREAMS:
                    peak = max(peak, checked_out(pulse))
                    await anyio.sleep(0.01)
            assert checked_out(pulse) == 0
            connector = pulse.connector
            assert connector is not None
        assert connector.closed
        assert await wait_for_fds(baseline) == baseline

    assert len(texts) == STREAMS
    wrong = [i for i, text in texts.items() if text != default_answer(f"question {i}")]
    assert wrong == []  # every answer whole, and none mixed up with another stream's
    assert all(count > 10 for count in usages.values())
    assert peak > STREAMS // 2  # concurrent indeed, over one connection pool
    print(f"\n{STREAMS} concurrent streams, peak {peak} connections in use")
