"""Leaks: thousands of streams abandoned early leave no memory, connections, file
descriptors or "Unclosed ..." warnings behind. (pytest runs with warnings as errors,
so a `ResourceWarning` from any of them fails the test.)"""

from __future__ import annotations

import gc
import tracemalloc
import warnings

import anyio
import pytest

import pulseai_async as pa

from ..conftest import checked_out
from .conftest import EmulatorProcess, emulator_process_fixture, open_fds, wait_for_fds

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
