"""Shared test set-up: every async test runs on asyncio (aiohttp needs it).

The `emulator` and `pulse` fixtures come from the package's own pytest plugin.
"""

import pytest

from pulseai_async import RetryPolicy

FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, jitter=0.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def checked_out(client) -> int:
    """Connections currently taken out of the client's pool."""
    connector = client.connector
    return 0 if connector is None else len(connector._acquired)
