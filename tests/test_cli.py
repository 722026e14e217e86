"""The `pulseai` command, run as a real subprocess against the emulator."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest
from anyio.abc import Process

import pulseai_async as pa
from pulseai_async._streaming.events import decode_event
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

PULSEAI = Path(sys.executable).parent / "pulseai"
ANSWER = "Streaming works, one token at a time."
REQUEST_ID = re.compile(r"request id [0-9a-f-]{36}")


# Where `pulseai emulator` advertises itself and where chat history goes: empty places by
# default, so a developer's own running emulator or history never leaks into a test.
NOWHERE = Path(tempfile.gettempdir()) / f"pulseai-cli-tests-{os.getpid()}"


@pytest.fixture(scope="module", autouse=True)
def _remove_nowhere_afterwards() -> Iterator[None]:
    yield
    shutil.rmtree(NOWHERE, ignore_errors=True)


def cli_env(emulator: Emulator | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["XDG_RUNTIME_DIR"] = str(NOWHERE / "runtime")
    env["XDG_STATE_HOME"] = str(NOWHERE / "state")
    if emulator is not None:
        env["PULSEAI_API_KEY"] = emulator.api_key
        env["PULSEAI_KNOWLEDGE_API_KEY"] = emulator.knowledge_api_key
        env["PULSEAI_BASE_URL"] = emulator.base_url
    env.update(extra)
    return env


async def run_cli(
    *args: str, env: dict[str, str], stdin: bytes | None = None, module: bool = True
) -> tuple[int, str, str]:
    command = [sys.executable, "-m", "pulseai_async", *args] if module else [str(PULSEAI), *args]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, input=stdin, env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def read_until(process: Process, needle: bytes) -> bytes:
    assert process.stdout is not None
    seen = b""
    with anyio.fail_after(30):
        while needle not in seen:
            seen += await process.stdout.receive()
    return seen


async def test_chat_streams_the_answer_then_conversation_and_usage(emulator: Emulator) -> None:
    emulator.answer = ANSWER
    emulator.token_delay = 0.2  # slow enough to see the answer arrive
    env = cli_env(emulator)
    async with await anyio.open_process(
        [sys.executable, "-m", "pulseai_async", "chat", "Does it stream?", "--user", "ann"],
        env=env,
    ) as process:
        first = await read_until(process, b"Streaming")
        # The first words are on the terminal while the server is still generating.
        assert len(emulator.state.tasks) == 1
        assert first.decode() in ANSWER
        rest = b""
        assert process.stdout is not None and process.stderr is not None
        async for chunk in process.stdout:
            rest += chunk
        err = b"".join([chunk async for chunk in process.stderr]).decode()
        assert await process.wait() == 0
    assert (first + rest).decode() == ANSWER + "\n"
    (conversation,) = emulator.state.conversations.values()
    assert conversation.user == "ann"
    assert f"conversation: {conversation.id}" in err.splitlines()
    usage = re.search(r"^usage: (\d+) tokens \((\d+) prompt \+ (\d+) completion\)", err, re.M)
    assert usage is not None
    total, prompt, completion = map(int, usage.groups())
    assert total == prompt + completion
    assert completion == len(ANSWER.split())
    assert "bundled emulator" not in err


async def test_console_script_without_a_key_starts_its_own_emulator() -> None:
    code, out, err = await run_cli(
        "chat", "What can PulseAI do?", "--token-delay", "0", env=cli_env(), module=False
    )
    assert code == 0, err
    assert out.startswith("You asked: What can PulseAI do?")
    assert re.search(r"using the bundled emulator at http://127\.0\.0\.1:\d+/v1", err)
    assert re.search(r"^conversation: [0-9a-f-]{36}$", err, re.M)
    assert re.search(r"^usage: \d+ tokens", err, re.M)


async def test_emulator_flag_wins_over_a_configured_key(emulator: Emulator) -> None:
    code, out, err = await run_cli(
        "chat", "hi", "--emulator", "--token-delay", "0", env=cli_env(emulator)
    )
    assert code == 0, err
    assert "--emulator: using the bundled emulator" in err
    assert emulator.requests == []  # the configured server was not used
    assert out.startswith("You asked: hi")


async def test_json_prints_one_event_per_line(emulator: Emulator) -> None:
    emulator.answer = ANSWER
    code, out, err = await run_cli("chat", "hi", "--json", env=cli_env(emulator))
    assert code == 0, err
    events = [decode_event(line.encode()) for line in out.splitlines()]
    assert isinstance(events[0], pa.WorkflowStarted)  # a chatflow: every event, in order
    messages = [event for event in events if isinstance(event, pa.MessageEvent)]
    assert "".join(event.answer for event in messages) == ANSWER
    end = events[-1]
    assert isinstance(end, pa.MessageEnd)
    assert end.metadata.usage is not None and end.metadata.usage.total_tokens > 0
    assert end.conversation_id in emulator.state.conversations
    assert "usage:" not in err  # stdout is only events, stderr stays quiet


async def test_conversation_flag_continues_a_conversation(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    first = await pulse.chat.send("first", user="bob")
    code, _, err = await run_cli(
        "chat",
        "second",
        "--user",
        "bob",
        "--conversation",
        first.conversation_id,
        env=cli_env(emulator),
    )
    assert code == 0, err
    conversation = emulator.state.conversations[first.conversation_id]
    assert [m.query for m in conversation.messages] == ["first", "second"]


async def test_interactive_mode_keeps_one_conversation(emulator: Emulator) -> None:
    emulator.answer = lambda query: f"echo {query}"
    code, out, err = await run_cli(
        "chat", "--user", "cat", env=cli_env(emulator), stdin=b"one\n\ntwo\n/exit\nthree\n"
    )
    assert code == 0, err
    assert out.splitlines() == ["echo one", "echo two"]
    (conversation,) = emulator.state.conversations.values()
    assert [m.query for m in conversation.messages] == ["one", "two"]


async def test_interactive_after_a_first_query(emulator: Emulator) -> None:
    code, out, _ = await run_cli(
        "chat", "zero", "-i", "--token-delay", "0", env=cli_env(emulator), stdin=b"one\n"
    )
    assert code == 0
    (conversation,) = emulator.state.conversations.values()
    assert [m.query for m in conversation.messages] == ["zero", "one"]
    assert len(out.splitlines()) == 2


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_api_error_is_one_line_and_exits_non_zero(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=400, code="provider_quota_exceeded")
    code, out, err = await run_cli("chat", "hi", env=cli_env(emulator))
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: [400 provider_quota_exceeded] Your quota")
    assert REQUEST_ID.search(line)


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_wrong_key_is_one_line_and_never_shows_the_key(emulator: Emulator) -> None:
    env = cli_env(emulator, PULSEAI_API_KEY="app-wrong-secret")
    code, _, err = await run_cli("chat", "hi", env=env)
    assert code == 1
    (line,) = err.splitlines()
    assert "[401 unauthorized] Access token is invalid" in line
    assert REQUEST_ID.search(line)
    assert "app-wrong-secret" not in err


async def test_in_stream_error_event_is_one_line(emulator: Emulator) -> None:
    emulator.faults.add(
        path="/chat-messages", after_events=2, error_code="completion_request_error"
    )
    code, out, err = await run_cli("chat", "hi", env=cli_env(emulator))
    assert code == 1
    assert out.count(" ") >= 1  # the two tokens before the error were shown
    assert err.splitlines()[-1].startswith("error: [400 completion_request_error]")
    assert "Traceback" not in err


async def test_bad_input_is_one_line_before_anything_is_sent(emulator: Emulator) -> None:
    code, _, err = await run_cli("chat", "hi", "--conversation", "nope", env=cli_env(emulator))
    assert code == 1
    assert err.strip() == (
        "error: PulseValidationError: conversation_id must be a UUID in its 36-character form, "
        "got 'nope'"
    )
    assert emulator.requests == []


async def test_ctrl_c_stops_the_generation_and_exits_cleanly(emulator: Emulator) -> None:
    emulator.answer = "one two " + "more " * 60 + "end"  # 12 s: Ctrl-C comes long before
    emulator.token_delay = 0.2
    async with await anyio.open_process(
        [sys.executable, "-m", "pulseai_async", "chat", "count", "--user", "dan"],
        env=cli_env(emulator),
    ) as process:
        await read_until(process, b"two")
        ((task_id, task),) = emulator.state.tasks.items()
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            code = await process.wait()
        assert process.stderr is not None
        err = b"".join([chunk async for chunk in process.stderr]).decode()
    assert code == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "(interrupted: the generation was stopped)"
    assert emulator.hits(f"/chat-messages/{task_id}/stop", "POST") == 1
    assert task.stopped.is_set()  # the server was told to stop generating
    assert not task.finished


async def test_ctrl_c_before_the_first_event_exits_cleanly(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", delay=30)  # the server is slow to start
    async with await anyio.open_process(
        [sys.executable, "-m", "pulseai_async", "chat", "hi"], env=cli_env(emulator)
    ) as process:
        with anyio.fail_after(30):
            while not emulator.hits("/chat-messages"):  # noqa: ASYNC110 - no hook to await
                await anyio.sleep(0.02)
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            code = await process.wait()
        assert process.stderr is not None
        err = b"".join([chunk async for chunk in process.stderr]).decode()
    assert code == 130
    assert err.splitlines() == ["(interrupted before the answer started)"]
    assert len(emulator.requests) == 1  # no stop request: there was no task to stop


async def test_ctrl_c_in_interactive_mode_stops_the_answer_and_keeps_chatting(
    emulator: Emulator,
) -> None:
    def answer(query: str) -> str:  # 12 s when slow: Ctrl-C comes long before the end
        return f"{query}: one two " + "more " * 60 + "nine"

    emulator.answer = answer
    emulator.token_delay = 0.2
    async with await anyio.open_process(
        [sys.executable, "-m", "pulseai_async", "chat"], env=cli_env(emulator)
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        await process.stdin.send(b"slow\n")
        await read_until(process, b"two")
        ((task_id, task),) = emulator.state.tasks.items()
        process.send_signal(signal.SIGINT)
        err = b""
        with anyio.fail_after(30):
            while b"interrupted" not in err:
                err += await process.stderr.receive()
        emulator.token_delay = 0
        await process.stdin.send(b"fast\n")
        await process.stdin.aclose()
        rest = await read_until(process, b"nine")
        with anyio.fail_after(30):
            assert await process.wait() == 0
    assert task.stopped.is_set()
    assert emulator.hits(f"/chat-messages/{task_id}/stop", "POST") == 1
    assert rest.decode().splitlines()[-1] == answer("fast")
    (conversation,) = emulator.state.conversations.values()  # the second turn continued it
    assert [m.query for m in conversation.messages][-1] == "fast"


async def test_emulator_command_serves_until_ctrl_c() -> None:
    async with await anyio.open_process(
        [sys.executable, "-m", "pulseai_async", "emulator", "--port", "0"], env=cli_env()
    ) as process:
        line = (await read_until(process, b"\n")).decode()
        url = re.search(r"listening on (http://\S+/v1)", line)
        assert url is not None
        async with pa.AsyncPulse(api_key="app-emulator-key", base_url=url.group(1)) as pulse:
            reply = await pulse.chat.send("ping", user="u")
        assert reply.answer.startswith("You asked: ping")
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            assert await process.wait() == 0


async def test_conversations_lists_a_users_conversations_after_a_chat(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    env = cli_env(emulator)
    code, _, err = await run_cli("chat", "first", "--user", "eve", env=env)
    assert code == 0, err
    first = re.search(r"^conversation: (\S+)$", err, re.M)
    assert first is not None
    second = await pulse.chat.send("second", user="eve")
    await pulse.chat.send("not hers", user="zed")
    code, out, err = await run_cli("conversations", "--user", "eve", "--limit", "1", env=env)
    assert code == 0, err
    (line,) = out.splitlines()  # newest first, one line each: id, last update, name
    assert re.fullmatch(rf"{second.conversation_id}  \d{{4}}-\d\d-\d\d \d\d:\d\d  .+", line)
    assert "(more than 1: use --all or a larger --limit)" in err
    code, out, _ = await run_cli(
        "conversations", "--user", "eve", "--limit", "1", "--all", "--json", env=env
    )
    assert code == 0
    listed = [msgspec.json.decode(line) for line in out.splitlines()]
    assert [row["id"] for row in listed] == [second.conversation_id, first.group(1)]


async def test_upload_prints_the_file_id(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"hello notes")
    code, out, err = await run_cli(
        "upload", str(tmp_path / "notes.txt"), "--user", "fay", env=cli_env(emulator)
    )
    assert code == 0, err
    file_id = out.strip()
    stored = emulator.state.files[file_id]
    assert (stored.name, stored.data, stored.user) == ("notes.txt", b"hello notes", "fay")
    assert "uploaded notes.txt (11 bytes, text/plain)" in err
    assert f'"upload_file_id":"{file_id}"' in err  # how to attach it, ready to paste


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_upload_of_an_unsupported_file_type_is_one_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "setup.exe").write_bytes(b"MZ")
    code, out, err = await run_cli("upload", str(tmp_path / "setup.exe"), env=cli_env(emulator))
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: [415 unsupported_file_type] File type not allowed.")
    assert REQUEST_ID.search(line)
    assert emulator.state.files == {}


async def test_upload_of_a_missing_file_is_one_line_before_anything_is_sent(
    emulator: Emulator, tmp_path: Path
) -> None:
    code, _, err = await run_cli("upload", str(tmp_path / "nope.pdf"), env=cli_env(emulator))
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("error: PulseValidationError: file: no such file")
    assert emulator.requests == []


MANUAL = """# Manual

Charge the battery for two hours before first use.

The screen turns off after one minute without a touch.

Press the side button to wake the screen.
"""
PROGRESS = re.compile(
    r"manual\.md: (waiting|parsing|cleaning|splitting|indexing|completed) \d+/\d+ chunks"
)


async def test_kb_create_follows_indexing_then_list_and_retrieve_show_it(tmp_path: Path) -> None:
    (tmp_path / "manual.md").write_text(MANUAL)
    async with Emulator(indexing_delay=0.05) as emulator:  # slow enough to see progress
        env = cli_env(emulator)
        code, out, err = await run_cli(
            "kb", "create", "Manuals", str(tmp_path / "manual.md"), "--poll", "0.02", env=env
        )
        assert code == 0, err
        dataset_id = out.strip()
        (document,) = emulator.knowledge.datasets[dataset_id].documents.values()
        assert document.completed
        progress = [line for line in err.splitlines() if line.startswith("manual.md:")]
        assert all(PROGRESS.fullmatch(line) for line in progress), progress
        chunks = len(document.segments)
        assert chunks >= 2
        assert progress[-1] == f"manual.md: completed {chunks}/{chunks} chunks"
        assert not progress[0].startswith("manual.md: completed")  # followed, not just awaited

        code, out, err = await run_cli("kb", "list", env=env)
        assert code == 0, err
        assert out.split() == [dataset_id, "1", "docs", "Manuals"]

        code, out, err = await run_cli(
            "kb", "retrieve", dataset_id, "battery charge", "--top-k", "1", env=env
        )
        assert code == 0, err
        (line,) = out.splitlines()
        score, source, text = line.split(maxsplit=2)
        assert 0 < float(score) <= 1
        assert source == "manual.md"
        assert "Charge the battery" in text


async def test_kb_create_without_a_key_uses_the_bundled_emulator_and_reports_failures(
    tmp_path: Path,
) -> None:
    (tmp_path / "manual.md").write_text(MANUAL)
    (tmp_path / "empty.txt").write_text("")  # nothing to index: the platform fails it
    code, out, err = await run_cli(
        "kb",
        "create",
        "Notes",
        str(tmp_path / "manual.md"),
        str(tmp_path / "empty.txt"),
        "--poll",
        "0.01",
        env=cli_env(),
    )
    assert code == 1
    assert re.fullmatch(r"[0-9a-f-]{36}\n", out)  # the knowledge base was created
    lines = err.splitlines()
    assert "no PULSEAI_KNOWLEDGE_API_KEY set: using the bundled emulator" in lines[0]
    assert re.search(r"^manual\.md: completed (\d+)/\1 chunks$", err, re.M)
    assert lines[-1] == "empty.txt: indexing failed: The document is empty: no text left to index."
    assert "Traceback" not in err


def test_progress_bar_redraws_one_line_on_a_terminal() -> None:
    from pulseai_async._cli.commands import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def snapshot(status: str, done: int, total: int) -> pa.IndexingProgress:
        document = pa.IndexingStatus(
            id="d", indexing_status=status, completed_segments=done, total_segments=total
        )
        return pa.IndexingProgress(
            batch="b", documents=[document], completed_segments=done, total_segments=total
        )

    terminal = Terminal()
    progress = _Progress(terminal, "a.md")
    progress.show(snapshot("indexing", 2, 4))
    progress.show(snapshot("completed", 4, 4))
    progress.end()
    first, second = terminal.getvalue().split("\r")[1:]
    assert first == "a.md: [" + "#" * 15 + "." * 15 + "] 2/4 chunks (indexing)"
    assert second == "a.md: [" + "#" * 30 + "] 4/4 chunks (completed)\n"


# --- state across commands, keys, options, Ctrl-C in kb create, line editing ----------------

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
FAQ = "# FAQ\n\nHow long does a full charge last? About ten hours of use.\n"


def documented_block(first_line: str) -> str:
    """The one bash block of docs/cli.md that starts with `first_line`."""
    blocks = re.findall(r"^```bash\n(.*?)^```", CLI_DOC.read_text(), re.M | re.S)
    (block,) = [block for block in blocks if block.splitlines()[0] == first_line]
    return block


async def test_the_documented_kb_sequence_runs_as_written_with_pulseai_emulator(
    tmp_path: Path,
) -> None:
    (tmp_path / "manual.md").write_text(MANUAL)
    (tmp_path / "faq.md").write_text(FAQ)
    env = cli_env(XDG_RUNTIME_DIR=str(tmp_path / "runtime"))
    env["PATH"] = f"{PULSEAI.parent}{os.pathsep}{env['PATH']}"
    state = tmp_path / "runtime" / "pulseai" / "emulator.json"
    async with await anyio.open_process(
        ["pulseai", *documented_block("pulseai emulator").split()[1:], "--port", "0"], env=env
    ) as server:
        await read_until(server, b"listening on")
        assert state.exists() and state.stat().st_mode & 0o077 == 0  # this user only
        script = documented_block('KB=$(pulseai kb create "Product manuals" manual.md faq.md)')
        with anyio.fail_after(60):
            done = await anyio.run_process(
                ["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=False
            )
        out, err = done.stdout.decode(), done.stderr.decode()
        assert done.returncode == 0, err
        server.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            assert await server.wait() == 0
    assert not state.exists()  # a stopped emulator is no longer advertised
    assert err.count("using the emulator `pulseai emulator` runs at http://127.0.0.1:") == 3
    listed, *found = out.splitlines()
    dataset_id, count, _, name = listed.split(maxsplit=3)
    assert (count, name) == ("2", "Product manuals")
    assert re.fullmatch(r"[0-9a-f-]{36}", dataset_id)
    assert found[0].split(maxsplit=2)[1] == "faq.md"  # the best match first
    assert "About ten hours" in found[0]


async def test_a_dead_emulators_file_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "pulseai" / "emulator.json"
    state.parent.mkdir()
    dead = await anyio.run_process([sys.executable, "-c", "import os; print(os.getpid())"])
    record = {"base_url": "http://127.0.0.1:9/v1", "api_key": "a", "knowledge_api_key": "k"}
    state.write_bytes(msgspec.json.encode({"pid": int(dead.stdout), **record}))
    code, _, err = await run_cli("kb", "list", env=cli_env(XDG_RUNTIME_DIR=str(tmp_path)))
    assert code == 0, err
    assert "using the bundled emulator at" in err and "(no knowledge bases)" in err


@pytest.mark.parametrize(
    ("command", "configured", "missing"),
    [
        (("kb", "list"), {"PULSEAI_API_KEY": "app-real"}, "PULSEAI_KNOWLEDGE_API_KEY"),
        (("chat", "hi"), {"PULSEAI_BASE_URL": "http://127.0.0.1:9/v1"}, "PULSEAI_API_KEY"),
    ],
)
async def test_a_missing_key_is_named_not_replaced_by_an_emulator(
    command: tuple[str, ...], configured: dict[str, str], missing: str
) -> None:
    code, out, err = await run_cli(*command, env=cli_env(**configured))
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {missing} is not set: ")
    assert "pass --emulator" in line
    assert "emulator at" not in err and "app-real" not in err


async def test_emulator_help_describes_every_option_of_the_module_command() -> None:
    def options(help_text: str) -> dict[str, str]:
        section = help_text.split("options:", 1)[1]
        found = re.findall(r"^  (--[a-z-]+)[^\n]*?(?:  +(\S.*))?$", section, re.M)
        return {name: described for name, described in found if name != "--help"}

    _, cli_help, _ = await run_cli("emulator", "--help", env=cli_env())
    done = await anyio.run_process([sys.executable, "-m", "pulseai_async.testing", "--help"])
    module_help = done.stdout.decode()
    ours, theirs = options(cli_help), options(module_help)
    assert set(ours) == set(theirs) >= {"--port", "--answer", "--fault", "--json-style"}
    assert len(ours) >= 10
    # every option is described (on its line or, for long ones, the next)
    for name in ours:
        assert re.search(rf"^  {name}\b[^\n]*(\n {{10,}}\S|  +\S)", cli_help, re.M), name


async def test_emulator_command_takes_the_module_options(emulator: Emulator) -> None:
    async with await anyio.open_process(
        [str(PULSEAI), "emulator", "--port", "0", "--answer", "Paris.", "--api-key", "app-k"],
        env=cli_env(),
    ) as process:
        line = (await read_until(process, b"\n")).decode()
        url = re.search(r"listening on (http://\S+/v1)", line)
        assert url is not None
        async with pa.AsyncPulse(api_key="app-k", base_url=url.group(1)) as pulse:
            reply = await pulse.chat.send("Capital?", user="u")
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(30):
            assert await process.wait() == 0
    assert reply.answer == "Paris."


@pytest.mark.parametrize(
    "command",
    [
        ("kb", "create", "KB", "--user", "u"),
        ("kb", "create", "KB", "--json"),
        ("kb", "list", "--token-delay", "0"),
        ("kb", "retrieve", "id", "q", "--user", "u"),
        ("conversations", "--token-delay", "0"),
        ("upload", "x.txt", "--token-delay", "0"),
    ],
)
async def test_options_that_do_nothing_are_not_offered(command: tuple[str, ...]) -> None:
    code, _, err = await run_cli(*command, env=cli_env())
    assert code == 2
    option = next(i for i, word in enumerate(command) if word.startswith("--"))
    assert err.splitlines()[-1].endswith(f"unrecognized arguments: {' '.join(command[option:])}")


async def test_ctrl_c_during_kb_create_says_what_stays_on_the_server(tmp_path: Path) -> None:
    (tmp_path / "manual.md").write_text(MANUAL)
    (tmp_path / "faq.md").write_text(FAQ)
    async with Emulator(indexing_delay=2.0) as emulator:  # indexing outlasts the test
        command = [sys.executable, "-m", "pulseai_async", "kb", "create", "Manuals"]
        command += [str(tmp_path / "manual.md"), str(tmp_path / "faq.md"), "--poll", "0.05"]
        async with await anyio.open_process(command, env=cli_env(emulator)) as process:
            dataset_id = (await read_until(process, b"\n")).decode().strip()
            assert process.stderr is not None
            err = b""
            with anyio.fail_after(30):
                while b"manual.md:" not in err:  # both added, following the first
                    err += await process.stderr.receive()
            process.send_signal(signal.SIGINT)
            err += b"".join([chunk async for chunk in process.stderr])
            with anyio.fail_after(30):
                assert await process.wait() == 130
        assert dataset_id in emulator.knowledge.datasets  # it did stay
    report = err.decode().split("(interrupted: ", 1)[1].splitlines()
    assert report == [
        f"knowledge base 'Manuals' ({dataset_id}) stays on the server",
        "  added, still indexing on the server: manual.md, faq.md",
        f"  remove it with: pulseai kb delete {dataset_id})",
    ]


async def test_kb_delete_removes_the_knowledge_base(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        dataset = await pulse.datasets.create("Old")
    code, _, err = await run_cli("kb", "delete", dataset.id, env=cli_env(emulator))
    assert code == 0, err
    assert dataset.id not in emulator.knowledge.datasets


async def test_interactive_chat_has_line_editing_and_history(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = cli_env(emulator, XDG_STATE_HOME=str(tmp_path), TERM="xterm")
    left, up = b"\x1b[D", b"\x1b[A"

    async def session(*keystrokes: bytes) -> None:
        controller, terminal = os.openpty()
        try:
            async with await anyio.open_process(
                [sys.executable, "-m", "pulseai_async", "chat", "--user", "tty"],
                stdin=terminal,
                stdout=terminal,
                stderr=terminal,
                env=env,
            ) as process:
                seen = b""
                for number, keys in enumerate(keystrokes, start=1):
                    with anyio.fail_after(30):
                        while seen.count(b"you> ") < number:
                            chunk = await anyio.to_thread.run_sync(
                                os.read, controller, 4096, abandon_on_cancel=True
                            )
                            seen += chunk
                    os.write(controller, keys)
                with anyio.fail_after(30):
                    assert await process.wait() == 0, seen.decode(errors="replace")
        finally:
            os.close(controller)
            os.close(terminal)

    # "helo", left arrow, "l": edited to "hello"; then the up arrow sends it again.
    await session(b"helo" + left + b"l\r", up + b"\r", b"\x04")
    # A new session recalls the last session's line.
    await session(up + b" again\r", b"/exit\r")
    queries = [
        msgspec.json.decode(request.body)["query"]
        for request in emulator.requests
        if request.path.endswith("/chat-messages")
    ]
    assert queries == ["hello", "hello", "hello again"]
    history = tmp_path / "pulseai" / "chat_history"
    assert "hello again" in history.read_text().splitlines()
    assert history.stat().st_mode & 0o077 == 0  # what you typed is yours alone


def test_an_interrupted_kb_create_on_its_own_emulator_says_nothing_stays() -> None:
    from pulseai_async._cli.commands import _LeftBehind

    left = _LeftBehind(["docs/manual.md", "faq.md"])
    assert left.report(ephemeral=False) == "(interrupted: nothing was created)"
    left.dataset = ("3f6c", "Manuals")
    left.added = ["manual.md"]
    assert left.report(ephemeral=True) == (
        "(interrupted: knowledge base 'Manuals' (3f6c) was in the emulator this command "
        "started, which is gone now: nothing stays)"
    )
    assert left.report(ephemeral=False).splitlines()[1:] == [
        "  added, still indexing on the server: manual.md",
        "  not added: faq.md",
        "  remove it with: pulseai kb delete 3f6c)",
    ]
