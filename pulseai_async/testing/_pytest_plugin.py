"""pytest fixtures for your own tests: `emulator` (a running `Emulator`) and `pulse` (an
`AsyncPulse` bound to it). Registered automatically when pulseai_async is installed (a
`pytest11` entry point), so there is nothing to import.

Both are async fixtures for anyio's pytest plugin: mark tests `@pytest.mark.anyio` (and
set the `anyio_backend` fixture to "asyncio"; aiohttp needs it). Configure the emulator
per test with the `pulseai_emulator` marker, whose keywords go to `Emulator(...)`:

    @pytest.mark.pulseai_emulator(answer="Paris.", json_style="ascii")
    async def test_capital(pulse): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .._client import AsyncPulse
from ._emulator import Emulator

MARKER = "pulseai_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the `emulator` fixture's Emulator(...)",
    )


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A running emulator on a free loopback port, stopped after the test."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    async with Emulator(**options) as running:
        yield running


@pytest.fixture
async def pulse(emulator: Emulator) -> AsyncIterator[AsyncPulse]:
    """An `AsyncPulse` bound to the `emulator` fixture, closed after the test."""
    async with emulator.client() as client:
        yield client
