"""The 429-storm benchmark: many chats against a real rate, with and without the gate.

    python benchmarks/storm.py serve --rate 50        # the emulator enforcing 50 req/s
    python benchmarks/storm.py client URL gated 1000  # one client, in a fresh process

`serve` runs the PulseAI emulator with a token-bucket fault plan (`Fault.rate_limit`:
R requests per second, a one-second burst, 429 with a whole-second `Retry-After` for
the excess) and prints `listening <port>`. On stdin it answers `reset` (a full bucket,
counters at zero) and `stats` (a JSON line: the 429s it sent and the chats it answered).

`client` sends N concurrent blocking chats with this SDK, either `gated` (the default
rate-limit gate) or `independent` (the gate off: each request retries on its own,
sleeping exactly the `Retry-After` the server named, as openai-python does when it is
at most 60 s, else exponential backoff with jitter). Both retry up to `--max-retries`
times, so that every chat completes and the two are compared on the same work.
It prints one JSON line: wall time, CPU, completed and failed chats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

API_KEY = "app-storm-bench-key"


def _fault(rate: float) -> Any:
    from pulseai_async.testing import Fault

    return Fault.rate_limit(rate).on("/chat-messages")


async def serve(rate: float) -> None:
    from pulseai_async.testing import Emulator

    emulator = Emulator(api_key=API_KEY, record_bodies=False, port=0)
    fault = emulator.faults.add(_fault(rate))
    async with emulator:
        print(f"listening {emulator.port}", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            if line == "reset":
                emulator.faults.clear()
                emulator.requests.clear()
                fault = emulator.faults.add(_fault(rate))
                print("ok", flush=True)
            elif line == "stats":
                chats = sum(1 for r in emulator.requests if r.path == "/chat-messages")
                stats = {"refused": fault.applied, "requests": chats}
                print(json.dumps(stats), flush=True)


async def client(base_url: str, mode: str, chats: int, max_retries: int) -> dict[str, Any]:
    from pulseai_async import AsyncPulse, RetryPolicy

    pulse = AsyncPulse(
        api_key=API_KEY,
        base_url=base_url,
        retry_policy=RetryPolicy(max_retries=max_retries),
        rate_limit_gate=None if mode == "gated" else False,
    )
    async with pulse:
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(pulse.chat.send(f"question {i}", user=f"user-{i}") for i in range(chats)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
    failed = [r for r in results if isinstance(r, BaseException)]
    return {
        "wall_s": wall,
        "cpu_s": (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
        "completed": chats - len(failed),
        "failed": len(failed),
        "first_failure": repr(failed[0])[:200] if failed else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--rate", type=float, default=50.0)
    c = sub.add_parser("client")
    c.add_argument("base_url")
    c.add_argument("mode", choices=["gated", "independent"])
    c.add_argument("chats", type=int)
    c.add_argument("--max-retries", type=int, default=100)
    args = parser.parse_args()
    if args.role == "serve":
        asyncio.run(serve(args.rate))
    else:
        result = asyncio.run(client(args.base_url, args.mode, args.chats, args.max_retries))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
