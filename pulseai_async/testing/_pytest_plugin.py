"""pytest fixtures: `emulator` (a running `Emulator`) and `pulse` (an `AsyncPulse` bound
to it). Registered automatically when pulseai_async is installed (a pytest11 entry point).
Both are async fixtures for anyio's pytest plugin: mark tests `@pytest.mark.anyio`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .._client import AsyncPulse
from ._emulator import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def pulse(emulator: Emulator) -> AsyncIterator[AsyncPulse]:
    async with emulator.client() as client:
        yield client
