"""The runnable examples in docs/knowledge.md run as complete programs against a fresh
emulator (the project-wide docs test does the same for every page; this one keeps the
Knowledge page covered on its own)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio
import pytest

from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

PAGE = Path(__file__).resolve().parents[2] / "docs" / "knowledge.md"
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```", re.M | re.S)
BLOCKS = [match.group("code") for match in FENCE.finditer(PAGE.read_text(encoding="utf-8"))]


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
async def test_example_runs(emulator: Emulator, tmp_path: Path, code: str) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEAI_")}
    env.update(
        PULSEAI_API_KEY=emulator.api_key,
        PULSEAI_KNOWLEDGE_API_KEY=emulator.knowledge_api_key,
        PULSEAI_BASE_URL=emulator.base_url,
    )
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-X", "dev", script.name], cwd=tmp_path, env=env, check=False
        )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert done.stdout.strip()
    assert "Traceback" not in stderr and "Unclosed" not in stderr, stderr
    assert code.rstrip().endswith("anyio.run(main)")
