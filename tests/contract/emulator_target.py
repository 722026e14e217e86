"""The emulator as a contract target: the three apps Dify-live provisions, emulated.

- `app`: a chatflow that echoes the query (Dify-live's `contract-chatflow`), plus the
  Knowledge API;
- `slow`: answers after `query` seconds of silence, pinging while idle (`contract-slow`);
- `fail`: a run that fails mid-stream (`contract-fail`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pulseai_async import __version__
from pulseai_async.testing import Emulator, Fault

PING_INTERVAL = 0.5
"""The emulator target pings this often while idle (the live server: every 10 s), so
the ping contract takes a second here, not a quarter of a minute."""
SLOW_SECONDS = 1.5 * PING_INTERVAL


def echo(query: str) -> str:
    return f"Echo: {query} | fixed text from the Answer node."


def slow_answer(query: str) -> str:
    return f"Thinking about {query} ... done: "


@contextlib.asynccontextmanager
async def start_emulator_apps() -> AsyncIterator[dict[str, Any]]:
    async with (
        Emulator(answer=echo, api_key="app-contract-chatflow") as app,
        Emulator(answer=slow_answer, api_key="app-contract-slow") as slow,
        Emulator(answer=echo, api_key="app-contract-fail") as fail,
    ):
        slow.faults.add(Fault.stall_after(2, SLOW_SECONDS).always())
        fail.faults.add(Fault.error_after(3, "invalid_param").always())
        yield {
            "base_url": app.base_url,
            "app_key": app.api_key,
            "knowledge_key": app.knowledge_api_key,
            "slow_app_key": slow.api_key,
            "fail_app_key": fail.api_key,
            "version": f"pulseai_async.testing emulator {__version__}",
            "ping_interval": PING_INTERVAL,
            "slow_seconds": SLOW_SECONDS,
            "urls": {"slow": slow.base_url, "fail": fail.base_url},
            "emulators": {"app": app, "slow": slow, "fail": fail},
        }
