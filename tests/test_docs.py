"""Every ```python block in the docs (and the README) runs, so the docs cannot rot.

Each block is a complete program. It runs in a subprocess, in an empty directory,
against a fresh emulator whose address and keys are in the environment, exactly as a
reader would run it against the platform with their own keys.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from pulseai_async import MessageEvent
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# A fenced block, possibly indented (inside a tab or an admonition), whose language is
# `python` (attributes such as `title="app.py"` may follow).
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python\b[^\n]*\n(?P<code>.*?)^(?P=indent)```", re.M | re.S
)


def code_blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, textwrap.dedent(match.group("code")))
        for match in FENCE.finditer(text)
    ]


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("**/*.md"))]


BLOCKS = [
    pytest.param(page, line, code, id=f"{page.relative_to(ROOT)}:{line}")
    for page in pages()
    for line, code in code_blocks(page)
]


@pytest.mark.single_interpreter
@pytest.mark.parametrize(("page", "line", "code"), BLOCKS)
async def test_docs_example_runs(
    emulator: Emulator, tmp_path: Path, page: Path, line: int, code: str
) -> None:
    script = tmp_path / f"{page.stem}_{line}.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEAI_")}
    env.update(
        PULSEAI_API_KEY=emulator.api_key,
        PULSEAI_KNOWLEDGE_API_KEY=emulator.knowledge_api_key,
        PULSEAI_BASE_URL=emulator.base_url,
        PYTHONUNBUFFERED="1",
    )
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-X", "dev", script.name], cwd=tmp_path, env=env, check=False
        )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    where = f"{page.relative_to(ROOT)} line {line}"
    assert done.returncode == 0, f"{where} exited {done.returncode}:\n{stderr}"
    assert stdout.strip(), f"{where} printed nothing: an example shows what it does"
    assert "Unclosed" not in stderr, f"{where} leaked a connection:\n{stderr}"
    assert "Traceback" not in stderr, f"{where}:\n{stderr}"
    if "anyio.run(" not in code and "asyncio.run(" not in code:
        pytest.fail(f"{where}: a docs example is a complete program ending in anyio.run(main)")


def test_the_guides_have_runnable_examples() -> None:
    """Guards the collector itself: a broken regex must not make the test above vanish."""
    counted = {page.relative_to(ROOT).as_posix(): len(code_blocks(page)) for page in pages()}
    for page in (
        "README.md",
        "docs/index.md",
        "docs/quickstart.md",
        "docs/streaming.md",
        "docs/errors.md",
        "docs/configuration.md",
        "docs/recipes/fastapi-sse.md",
        "docs/recipes/bot.md",
        "docs/recipes/jupyter.md",
    ):
        assert counted.get(page, 0) >= 1, f"{page} has no runnable example"
    assert len(BLOCKS) == sum(counted.values()) >= 20


def test_indented_blocks_are_found_and_dedented(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '# Title\n\n```pycon\n>>> 1\n```\n\n=== "Tab"\n\n    ```python title="a.py"\n'
        "    if True:\n        print(1)\n    ```\n\n```python\nprint(2)\n```\n"
    )
    assert code_blocks(page) == [(9, "if True:\n    print(1)\n"), (14, "print(2)\n")]


class _Printer:
    """What IPython's pretty printer hands to `_repr_pretty_`."""

    def __init__(self) -> None:
        self.output = ""

    def text(self, text: str) -> None:
        self.output += text


async def test_a_stream_displays_its_accumulated_text_in_a_notebook(emulator: Emulator) -> None:
    emulator.answer = "A long answer. " * 30
    async with emulator.client() as pulse:
        stream = pulse.chat.stream("hi", user="nb")
        async with stream:
            await stream.until_done()
        printer = _Printer()
        stream._repr_pretty_(printer, cycle=False)
    header, text = printer.output.split("\n", 1)
    assert header == (
        f"<ChatStream finished conversation_id={stream.conversation_id!r} "
        f"events={stream.events_received}>"
    )
    assert text == emulator.answer  # the whole answer, not a truncated repr
    assert "A long answer." in repr(stream) and repr(stream).endswith("...'>")


async def test_responses_and_events_have_short_readable_reprs(emulator: Emulator) -> None:
    emulator.answer = "Hi there"
    async with emulator.client() as pulse:
        reply = await pulse.chat.send("hello", user="nb")
        async with pulse.chat.stream("hello", user="nb") as stream:
            events = [event async for event in stream]
        shown = repr(pulse)
    first = next(event for event in events if isinstance(event, MessageEvent))
    end = events[-1]
    assert repr(first) == (
        f"MessageEvent(conversation_id={first.conversation_id!r}, "
        f"message_id={first.message_id!r}, created_at={first.created_at!r}, "
        f"task_id={first.task_id!r}, id={first.id!r}, answer='Hi ', "
        "from_variable_selector=['answer', 'answer'])"
    )
    assert repr(end).startswith("MessageEnd(") and "usage=Usage(prompt_tokens=1" in repr(end)
    assert "None" not in repr(reply)  # fields the server did not send stay out of the way
    assert repr(reply).startswith("ChatMessage(answer='Hi there', conversation_id=")
    assert emulator.api_key not in shown and "keys=['app', 'knowledge']" in shown
