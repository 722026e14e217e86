"""pytest fixtures for your own tests: `emulator` (a running `Emulator`) and `pulse` (an
`AsyncPulse` bound to it). Registered automatically when pulseai_async is installed (a
`pytest11` entry point), so there is nothing to import.

They work under either async plugin, whichever runs the test:

- anyio's (installed with anyio): mark tests `@pytest.mark.anyio` and set the
  `anyio_backend` fixture to "asyncio" (aiohttp needs it);
- pytest-asyncio: mark tests `@pytest.mark.asyncio`, or use `asyncio_mode = "auto"`.
  The fixtures use the function-scoped event loop, pytest-asyncio's default.

Configure the emulator per test with the `pulseai_emulator` marker, whose keywords go
to `Emulator(...)`:

    @pytest.mark.pulseai_emulator(answer="Paris.", json_style="ascii")
    async def test_capital(pulse): ...
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from .._client import AsyncPulse
from ._emulator import Emulator

try:
    import pytest_asyncio
except ImportError:  # pytest-asyncio is optional: anyio's plugin is always there
    pytest_asyncio = None  # type: ignore[assignment]

MARKER = "pulseai_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the `emulator` fixture's Emulator(...)",
    )


# --- what the fixtures do, whichever plugin runs them --------------------------------------


@contextlib.asynccontextmanager
async def _running_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    async with Emulator(**options) as running:
        yield running


def _implementation(request: pytest.FixtureRequest, name: str) -> str:
    """The variant of fixture `name` for the plugin that runs this test."""
    if "anyio_backend" in request.fixturenames:
        return f"_pulseai_{name}_anyio"
    if pytest_asyncio is not None and request.node.get_closest_marker("asyncio"):
        return f"_pulseai_{name}_asyncio"
    raise pytest.UsageError(
        f"the {name!r} fixture is async: mark the test @pytest.mark.anyio (anyio's "
        "plugin) or @pytest.mark.asyncio (pytest-asyncio), or enable either's auto mode"
    )


# --- the public fixtures: pick the variant the test's plugin handles -----------------------


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Emulator:
    """A running emulator on a free loopback port, stopped after the test."""
    running: Emulator = request.getfixturevalue(_implementation(request, "emulator"))
    return running


@pytest.fixture
def pulse(request: pytest.FixtureRequest) -> AsyncPulse:
    """An `AsyncPulse` bound to the `emulator` fixture, closed after the test."""
    client: AsyncPulse = request.getfixturevalue(_implementation(request, "pulse"))
    return client


# --- anyio's plugin runs plain async fixtures of tests that use `anyio_backend` ------------


@pytest.fixture
async def _pulseai_emulator_anyio(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async with _running_emulator(request) as running:
        yield running


@pytest.fixture
async def _pulseai_pulse_anyio(emulator: Emulator) -> AsyncIterator[AsyncPulse]:
    async with emulator.client() as client:
        yield client


# --- pytest-asyncio runs the fixtures it is told about (strict mode) -----------------------

if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def _pulseai_emulator_asyncio(
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[Emulator]:
        async with _running_emulator(request) as running:
            yield running

    @pytest_asyncio.fixture
    async def _pulseai_pulse_asyncio(emulator: Emulator) -> AsyncIterator[AsyncPulse]:
        async with emulator.client() as client:
            yield client
