"""The emulator as a contract target: the three chatflow apps Dify-live provisions.

One `Emulator` (calibrated to Dify 1.9.1: chatflow mode by default) serves all three
by key: the main app echoes the query (`contract-chatflow`), the slow app's HTTP node
sleeps `query` seconds (`contract-slow`), the failing app's HTTP node fails the run
(`contract-fail`); it also serves the Knowledge API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pulseai_async import __version__
from pulseai_async.testing import Emulator

PING_INTERVAL = 0.5
"""The emulator target pings this often while idle (Dify: every 10 s), so the ping
contract takes about a second here, not a quarter of a minute."""


SLOW_APP_KEY = "app-contract-slow"
FAIL_APP_KEY = "app-contract-fail"


def echo(query: str) -> str:
    return f"Echo: {query} | fixed text from the Answer node."


@contextlib.asynccontextmanager
async def start_emulator_apps() -> AsyncIterator[dict[str, Any]]:
    async with Emulator(
        answer=echo,
        ping_interval=PING_INTERVAL,
        slow_app_key=SLOW_APP_KEY,
        fail_app_key=FAIL_APP_KEY,
    ) as emulator:
        yield {
            "base_url": emulator.base_url,
            "app_key": emulator.api_key,
            "knowledge_key": emulator.knowledge_api_key,
            "slow_app_key": SLOW_APP_KEY,
            "fail_app_key": FAIL_APP_KEY,
            "version": f"pulseai_async.testing emulator {__version__}",
            "ping_interval": PING_INTERVAL,
            "slow_seconds": 2 * PING_INTERVAL,
        }
