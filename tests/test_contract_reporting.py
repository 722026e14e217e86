"""The contract suite's live mode, run for real: a pytest process given a server in
`PULSEAI_CONTRACT_*` (here an emulator standing in for it) runs the same tests against
it, and reports what the server lacks as *not applicable*, by name, never as a pass."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio
import pytest

from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent


async def run_contract(emulator: Emulator, *args: str, **env: str) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PULSEAI_")}
    environ.update(
        PULSEAI_CONTRACT_BASE_URL=emulator.base_url,
        PULSEAI_CONTRACT_APP_KEY=emulator.api_key,
        PULSEAI_CONTRACT_KNOWLEDGE_KEY=emulator.knowledge_api_key,
        **env,
    )
    command = [sys.executable, "-m", "pytest", "tests/contract", "-p", "no:randomly", *args]
    with anyio.fail_after(100):
        done = await anyio.run_process(command, cwd=ROOT, env=environ, check=False)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


async def test_what_the_server_lacks_is_not_applicable_by_name(emulator: Emulator) -> None:
    code, output = await run_contract(
        emulator, "-k", "test_send_blocking or test_speech_to_text or test_stop_a_running"
    )
    assert code == 0, output
    assert re.search(r"1 passed, \d+ deselected, 2 not applicable in", output)  # pytest's
    assert f"contract suite against live {emulator.base_url}" in output
    assert "NOT APPLICABLE  test_speech_to_text" in output
    assert "not applicable: needs a model provider" in output
    assert "NOT APPLICABLE  test_stop_a_running_answer" in output
    assert "PULSEAI_CONTRACT_SLOW_APP_KEY" in output  # what to set to run it
    assert "relies on: POST /chat-messages (blocking)" in output
    assert (
        "contract: 1 passed, 2 not applicable "
        "(test_stop_a_running_answer, test_speech_to_text), 0 failed"
    ) in output


async def test_declared_features_make_those_tests_run(emulator: Emulator) -> None:
    code, output = await run_contract(
        emulator, "-k", "test_speech_to_text", PULSEAI_CONTRACT_FEATURES="model_provider"
    )
    assert code == 0, output
    assert "contract: 1 passed, 0 not applicable, 0 failed" in output


async def test_an_unknown_feature_is_a_usage_error(emulator: Emulator) -> None:
    code, output = await run_contract(emulator, PULSEAI_CONTRACT_FEATURES="gpu")
    assert code != 0 and "unknown ['gpu']" in output
