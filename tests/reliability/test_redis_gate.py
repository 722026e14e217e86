"""The Redis gate against a real `redis-server` (bound to loopback, no persistence,
started and stopped here): one quota shared by several processes, and a Redis that
disappears mid-run costs coordination, never a request and never a hang."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("gate_worker.py")


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:  # .ci/run installs it; a missing server is a failure, not a skip
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                *(binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""),
                *("--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


async def run_workers(emulator: Emulator, gate: str, workers: int, chats: int) -> list[dict]:
    """Run `workers` processes that all start sending at the same moment; their reports."""
    start_at = time.time() + 2  # after every worker has imported and built its client
    reports: list[dict] = []

    async def worker() -> None:
        args = [emulator.base_url, emulator.api_key, gate, str(chats), str(start_at)]
        done = await anyio.run_process([sys.executable, str(WORKER), *args], check=False)
        assert done.returncode == 0, done.stderr.decode()
        reports.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
    return reports


async def test_four_processes_share_one_quota(
    emulator: Emulator, redis_server: RedisServer
) -> None:
    """4 workers x 250 chats against 100 requests a second: sharing the gate through
    Redis, the server refuses at least 10x fewer requests than when each request
    retries on its own; every chat completes either way."""
    emulator.record_bodies = False
    refused = {}
    for gate in ("off", redis_server.url):
        emulator.reset()
        fault = emulator.faults.add(Fault.rate_limit(100).on("/chat-messages"))
        with anyio.fail_after(90):
            reports = await run_workers(emulator, gate, workers=4, chats=250)
        assert [r["completed"] for r in reports] == [250] * 4, reports
        refused[gate] = fault.applied
    assert refused[redis_server.url] * 10 <= refused["off"], refused


async def test_a_refusal_in_one_process_holds_back_another(
    emulator: Emulator, redis_server: RedisServer
) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=2).on("/chat-messages").nth(1))
    script = (
        "import asyncio, sys, pulseai_async as pa\n"
        "async def main():\n"
        "    async with pa.RedisRateLimitGate(sys.argv[3]) as gate:\n"
        "        async with pa.AsyncPulse(api_key=sys.argv[2], base_url=sys.argv[1],\n"
        "                                 max_retries=0, rate_limit_gate=gate) as pulse:\n"
        "            try:\n"
        "                await pulse.chat.send('refused', user='a')\n"
        "            except pa.RateLimitError:\n"
        "                print('refused')\n"
        "asyncio.run(main())\n"
    )
    with anyio.fail_after(30):
        done = await anyio.run_process(
            [sys.executable, "-c", script, emulator.base_url, emulator.api_key, redis_server.url]
        )
        assert done.stdout.decode().strip() == "refused"
        gate = pa.RedisRateLimitGate(redis_server.url)
        async with gate, emulator.client(rate_limit_gate=gate) as pulse:
            started = time.monotonic()
            await pulse.chat.send("held back by the other process", user="b")
    assert time.monotonic() - started >= 1.0  # the rest of the other process's 2 s
    sent = [r.time for r in emulator.requests if r.path == "/chat-messages"]
    assert len(sent) == 2 and sent[1] - sent[0] >= 1.9


async def test_a_redis_that_disappears_mid_run_degrades_to_the_local_gate(
    emulator: Emulator, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    fault = emulator.faults.add(Fault.rate_limit(50).on("/chat-messages"))
    caplog.set_level(logging.WARNING, logger="pulseai_async")
    policy = pa.RetryPolicy(max_retries=50)
    gate = pa.RedisRateLimitGate(redis_server.url)
    async with gate, emulator.client(retry_policy=policy, rate_limit_gate=gate) as pulse:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                replies: list[pa.ChatMessage] = []

                async def chat(i: int) -> None:
                    replies.append(await pulse.chat.send(f"q{i}", user=f"u{i}"))

                for i in range(200):
                    tg.start_soon(chat, i)
                await anyio.sleep(1.0)  # the storm is on, and paced through Redis
                assert not gate.degraded
                redis_server.stop()
        assert gate.degraded
    assert len(replies) == 200  # no request lost
    warnings = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert warnings and warnings[0].levelno == logging.WARNING
    assert fault.applied < 200  # still gated: the in-process gate took over


async def test_the_redis_gate_refuses_a_wrong_configuration() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        pa.RedisRateLimitGate()


async def test_a_cancelled_waiter_leaves_the_shared_window_as_it_found_it(
    redis_server: RedisServer,
) -> None:
    """Two gates (as two processes would) share a burst window of one request."""
    import redis.asyncio as redis_asyncio

    key = pa.gate_key("app-secret", "app")
    first = pa.RedisRateLimitGate(redis_server.url, window=1, window_wait=5)
    second = pa.RedisRateLimitGate(redis_server.url, window=1, window_wait=5)
    inspect = redis_asyncio.Redis.from_url(redis_server.url)
    sent = f"pulseai:gate:{key}:sent"
    async with first, second:
        with anyio.fail_after(10):
            await first.acquire(key)  # the one place
            async with anyio.create_task_group() as tg:
                waiting = anyio.CancelScope()

                async def wait_in_vain() -> None:
                    with waiting:
                        await second.acquire(key)
                        pytest.fail("admitted while the shared window was full")

                tg.start_soon(wait_in_vain)
                await anyio.sleep(0.3)
                waiting.cancel()
            assert await inspect.zcard(sent) == 1  # only the first request's place
            await first.release(key, answered=True)
            assert await inspect.zcard(sent) == 0
            started = time.monotonic()
            await second.acquire(key)  # the place is free: no wait
            assert time.monotonic() - started < 1.0
            await second.release(key, answered=True)
            assert await inspect.zcard(sent) == 0
    await inspect.aclose()
