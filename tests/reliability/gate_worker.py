"""One worker process of a bot scaled out on one API key: `python gate_worker.py
BASE_URL API_KEY REDIS_URL|off|local CHATS START_AT`. At START_AT (a Unix time) it sends
CHATS concurrent chats, then prints one JSON line: how many completed and the errors of
those that did not."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time

import pulseai_async as pa


async def main(base_url: str, api_key: str, gate_spec: str, chats: int, start_at: float) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    gate: pa.RateLimitGate | bool
    if gate_spec == "off":
        gate = False
    elif gate_spec == "local":
        gate = pa.LocalRateLimitGate()
    else:
        gate = pa.RedisRateLimitGate(gate_spec)
    try:
        async with pa.AsyncPulse(
            api_key=api_key,
            base_url=base_url,
            retry_policy=pa.RetryPolicy(max_retries=50),
            rate_limit_gate=gate,  # type: ignore[arg-type]
        ) as pulse:
            await asyncio.sleep(max(0.0, start_at - time.time()))  # all workers at once
            results = await asyncio.gather(
                *(pulse.chat.send(f"q{i}", user=f"u{i}") for i in range(chats)),
                return_exceptions=True,
            )
    finally:
        if isinstance(gate, pa.RedisRateLimitGate):
            await gate.aclose()
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    print(json.dumps({"completed": chats - len(errors), "errors": errors[:3]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4], int(sys.argv[4]), float(sys.argv[5])))
