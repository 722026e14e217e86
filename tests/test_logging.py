"""`PULSEAI_LOG=info|debug`, seen as a user sees it: a real process's stderr."""

from __future__ import annotations

import os
import re
import sys

import anyio
import pytest

from pulseai_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

# Sends one chat call that the emulator fails once with a 503, so it is retried; then
# re-runs the setup (a second import path) to prove the handler is not added twice.
SCRIPT = """
import importlib, logging, anyio
import pulseai_async
from pulseai_async import AsyncPulse

importlib.reload(pulseai_async)
pulseai_async._logs.setup_logging()

async def main():
    async with AsyncPulse(max_retries=1) as pulse:
        await pulse.chat.send("Hi", user="logs")
        print("handlers:", len(logging.getLogger("pulseai_async").handlers))

anyio.run(main)
"""
STAMP = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - pulseai_async - "


async def run(emulator: Emulator, log: str | None) -> tuple[str, str]:
    emulator.faults.add(Fault.http_error(503, retry_after=0).nth(1))
    emulator.request_ids = True  # as the platform sends them (Dify 1.9.1 does not)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEAI_")}
    env.update(PULSEAI_API_KEY=emulator.api_key, PULSEAI_BASE_URL=emulator.base_url)
    if log is not None:
        env["PULSEAI_LOG"] = log
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, "-c", SCRIPT], env=env, check=False)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err
    assert emulator.api_key not in err
    return out, err


async def test_debug_logs_one_line_per_request_and_the_retry(emulator: Emulator) -> None:
    out, err = await run(emulator, "debug")
    assert out.strip() == "handlers: 1"
    lines = err.splitlines()
    requests = [line for line in lines if re.match(STAMP + r"DEBUG\] POST /chat-messages", line)]
    assert len(requests) == 2, err  # the failed attempt and the retry, each once
    assert " -> 503 in " in requests[0] and " -> 200 in " in requests[1]
    assert re.search(r"\(request id [0-9a-f-]{36}\)$", requests[1])
    retry = [line for line in lines if re.match(STAMP + r"INFO\] retrying ", line)]
    assert len(retry) == 1, err
    assert "(attempt 2 of 2) after 503" in retry[0]
    assert len(lines) == 3, err  # nothing else, and nothing twice


async def test_info_logs_only_the_retry(emulator: Emulator) -> None:
    _, err = await run(emulator, "INFO")
    (line,) = err.splitlines()
    assert re.match(STAMP + r"INFO\] retrying POST /chat-messages", line), err


async def test_unset_configures_nothing(emulator: Emulator) -> None:
    out, err = await run(emulator, None)
    assert out.strip() == "handlers: 0"
    assert err == ""


async def test_an_unknown_level_is_reported_not_ignored(emulator: Emulator) -> None:
    out, err = await run(emulator, "verbose")
    assert out.strip() == "handlers: 0"
    assert err.splitlines() == ["ignoring PULSEAI_LOG='verbose': use debug or info"]
