"""The `emulator` and `pulse` fixtures under pytest-asyncio (as FastAPI projects use them)
and under anyio's plugin with pytest-asyncio installed beside it.

Each case is a user's test file run by a real `pytest` subprocess with the installed
plugin. anyio's plugin alone is `test_pytest_plugin_gives_users_emulator_and_pulse_fixtures`
in tests/reliability/test_emulator.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

pytestmark = pytest.mark.anyio

USER_TESTS = """
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

{mark}


async def test_pulse_is_bound_to_the_emulator(pulse: pa.AsyncPulse, emulator: Emulator):
    reply = await pulse.chat.send("Hello", user="u1")
    assert reply.answer.startswith("You asked: Hello")
    assert emulator.hits("/chat-messages") == 1


@pytest.mark.pulseai_emulator(answer="Paris.", json_style="ascii")
async def test_marker_configures_the_emulator(pulse: pa.AsyncPulse, emulator: Emulator):
    assert emulator.json_style == "ascii"
    assert await pulse.chat.stream("Capital?", user="u1").final_text() == "Paris."


async def test_faults_reach_the_fixture_client(pulse: pa.AsyncPulse, emulator: Emulator):
    emulator.faults.add(Fault.error_after(2, "provider_quota_exceeded"))
    with pytest.raises(pa.ProviderQuotaExceededError):
        await pulse.chat.stream("q", user="u1").final_text()
"""


ANYIO_MARK = """
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def run_pytest(directory: Path, mark: str, *options: str) -> subprocess.CompletedProcess[str]:
    (directory / "test_user_suite.py").write_text(textwrap.dedent(USER_TESTS.format(mark=mark)))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    command += ["-o", "asyncio_default_fixture_loop_scope=function", *options]
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize(
    ("mark", "options"),
    [
        pytest.param(
            "pytestmark = pytest.mark.asyncio", ("-o", "asyncio_mode=strict"), id="strict"
        ),
        pytest.param("", ("-o", "asyncio_mode=auto"), id="auto"),
        pytest.param(ANYIO_MARK, ("-o", "asyncio_mode=strict"), id="anyio-beside-asyncio"),
    ],
)
async def test_fixtures_work_under_either_plugin(
    tmp_path: Path, mark: str, options: tuple[str, ...]
) -> None:
    result = await anyio.to_thread.run_sync(run_pytest, tmp_path, mark, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert "warning" not in result.stdout.lower()


async def test_an_unmarked_test_is_told_how_to_run_the_fixtures(tmp_path: Path) -> None:
    result = await anyio.to_thread.run_sync(run_pytest, tmp_path, "", "-o", "asyncio_mode=strict")
    assert result.returncode != 0
    assert "the 'pulse' fixture is async: mark the test @pytest.mark.anyio" in result.stdout
