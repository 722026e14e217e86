"""The emulator as a product: wire variants, scripted answers, recordings, the command
line, and the pytest plugin, each checked over real HTTP as a user would use them."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import aiohttp
import anyio
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from ..conftest import FAST_RETRIES
from .conftest import EmulatorProcess

pytestmark = pytest.mark.anyio

KEY = "app-emulator-key"


async def raw_stream(emulator: Emulator, query: str = "hi") -> bytes:
    """The exact bytes of a streamed answer, read with a bare aiohttp session."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emulator.base_url}/chat-messages",
            json={"query": query, "user": "u", "response_mode": "streaming", "inputs": {}},
            headers={"Authorization": f"Bearer {KEY}"},
        ) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        return await response.read()


# --- old and new server variants -------------------------------------------------------------


@pytest.mark.parametrize("style", ["compact", "ascii"])
async def test_json_style_changes_the_bytes_not_the_answer(emulator: Emulator, style) -> None:
    emulator.answer = "héllo wörld ☃ done"
    emulator.json_style = style
    with anyio.fail_after(10):
        raw = await raw_stream(emulator)
        async with emulator.client() as pulse:
            text = await pulse.chat.stream("hi", user="u").final_text()
    if style == "ascii":
        assert b'"event": "message"' in raw and b"\\u00e9" in raw and "é".encode() not in raw
    else:
        assert b'"event":"message"' in raw and "é".encode() in raw
    assert text == "héllo wörld ☃ done"


@pytest.mark.parametrize("ping_first", [True, False])
async def test_ping_at_the_start_or_not(emulator: Emulator, ping_first: bool) -> None:
    emulator.ping_first = ping_first
    with anyio.fail_after(10):
        raw = await raw_stream(emulator)
        async with emulator.client() as pulse:
            stream = await pulse.chat.stream("hi", user="u").until_done()
    assert raw.startswith(b"event: ping\n\n") is ping_first
    assert raw.count(b"event: ping") == (1 if ping_first else 0)
    assert stream.finished and stream.text.startswith("You asked: hi")


async def test_event_ids_as_the_newest_servers_send_them(emulator: Emulator) -> None:
    emulator.event_ids = True
    with anyio.fail_after(10):
        raw = await raw_stream(emulator)
        async with emulator.client() as pulse:
            stream = await pulse.chat.stream("hi", user="u").until_done()
    frames = [f for f in raw.split(b"\n\n") if f.startswith(b"id:")]
    assert frames and all(re.match(rb"id: \d+-\d+\ndata: \{", f) for f in frames)
    assert stream.finished and stream.text.startswith("You asked: hi")


@pytest.mark.parametrize(("style", "body"), [(204, b""), (200, b'{"result":"success"}')])
async def test_delete_answers_204_or_200_success(emulator: Emulator, style, body) -> None:
    emulator.delete_style = style
    with anyio.fail_after(10):
        async with emulator.client() as pulse:
            reply = await pulse.chat.send("hi", user="u")
        async with (
            aiohttp.ClientSession() as session,
            session.delete(
                f"{emulator.base_url}/conversations/{reply.conversation_id}",
                json={"user": "u"},
                headers={"Authorization": f"Bearer {KEY}"},
            ) as response,
        ):
            assert (response.status, (await response.read()).rstrip(b"\n")) == (style, body)


async def test_dify_deletes_knowledge_with_200_and_the_body_204(emulator: Emulator) -> None:
    """Dify 1.9.1's knowledge deletes `return 204`, which flask-restx sends as a 200 whose
    body is the number 204 (measured); the SDK takes it like any other success."""
    assert emulator.delete_style == "dify"
    async with emulator.client() as pulse:
        dataset = await pulse.datasets.create("Doomed", indexing_technique="economy")
        doomed = await pulse.datasets.create("Doomed too", indexing_technique="economy")
        await pulse.datasets.delete(doomed.id)
        async with (
            aiohttp.ClientSession() as session,
            session.delete(
                f"{emulator.base_url}/datasets/{dataset.id}",
                headers={"Authorization": f"Bearer {emulator.knowledge_api_key}"},
            ) as response,
        ):
            assert (response.status, await response.read()) == (200, b"204\n")
        assert [d async for d in pulse.datasets.list()] == []


# --- scripted answers -----------------------------------------------------------------------


async def test_canned_answer_and_answer_function(emulator: Emulator) -> None:
    with anyio.fail_after(10):
        async with emulator.client() as pulse:
            emulator.answer = "Always this."
            assert (await pulse.chat.send("anything", user="u")).answer == "Always this."
            emulator.answer = lambda query: f"{query[::-1]}!"
            assert await pulse.chat.stream("abc def", user="u").final_text() == "fed cba!"


async def test_token_rate_paces_the_stream(emulator: Emulator) -> None:
    emulator.answer = "one two three four five six seven eight nine ten"
    emulator.tokens_per_second = 50
    assert emulator.token_delay == pytest.approx(0.02)
    arrivals: list[float] = []
    with anyio.fail_after(10):
        async with emulator.client() as pulse, pulse.chat.stream("q", user="u") as stream:
            async for _ in stream.text_deltas():
                arrivals.append(time.monotonic())
    assert len(arrivals) == 10
    assert arrivals[-1] - arrivals[0] >= 9 * 0.02 * 0.9  # spread out, not one burst
    emulator.tokens_per_second = None
    assert emulator.token_delay == 0
    with pytest.raises(ValueError, match="positive"):
        emulator.tokens_per_second = 0


# --- recorded requests ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["advanced-chat", "chat"])
async def test_requests_are_recorded_without_the_key(emulator: Emulator, mode) -> None:
    emulator.app_mode = mode
    with anyio.fail_after(10):
        async with emulator.client() as pulse:
            await pulse.chat.send(
                "hi",
                user="alice",
                inputs={"city": "Oslo"},
                extra_headers={"X-Forwarded-Key": KEY, "X-Trace": "t-1"},
                extra_query={"key": KEY},
                extra_body={"echo": f"Bearer {KEY}"},
            )
    (request,) = emulator.requests_to("/chat-messages", "post")
    assert (request.method, request.path) == ("POST", "/chat-messages")
    assert request.header("x-trace") == "t-1" and request.header("Content-Type")
    assert request.header("authorization") is None and request.header("x-signature") is None
    assert request.header("X-Forwarded-Key") == "***" and request.query == {"key": "***"}
    body = request.json()
    assert body["query"] == "hi" and body["user"] == "alice" and body["inputs"] == {"city": "Oslo"}
    assert body["echo"] == "Bearer ***"
    assert KEY not in repr(emulator.requests)
    emulator.reset()
    assert emulator.requests == [] and emulator.state.conversations == {}


def test_base_url_before_start_says_what_to_do() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="async with Emulator"):
        _ = emulator.base_url
    assert "stopped" in repr(emulator) and not emulator.running


# --- python -m pulseai_async.testing ---------------------------------------------------------


async def test_command_line_emulator_serves_other_processes() -> None:
    fault = '{"path": "/chat-messages", "status": 503, "retry_after": 0}'
    process = await anyio.to_thread.run_sync(
        lambda: EmulatorProcess("--answer", "From the CLI.", "--fault", fault)
    )
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", process.base_url)
        assert process.env["PULSEAI_API_KEY"] == KEY
        assert process.env["PULSEAI_KNOWLEDGE_API_KEY"] == "dataset-emulator-key"
        with anyio.fail_after(10):
            async with pa.AsyncPulse(
                process.api_key, base_url=process.base_url, retry_policy=FAST_RETRIES
            ) as pulse:
                reply = await pulse.chat.send("hi", user="u")  # after one scripted 503
                streamed = await pulse.chat.stream("hi", user="u").final_text()
        assert reply.answer == streamed == "From the CLI."
    finally:
        code = await anyio.to_thread.run_sync(process.stop)  # SIGTERM
    assert code == 0  # a clean shutdown


@pytest.mark.parametrize("mode", ["advanced-chat", "chat"])
async def test_command_line_app_modes(mode: str) -> None:
    process = await anyio.to_thread.run_sync(lambda: EmulatorProcess("--app-mode", mode))
    try:
        with anyio.fail_after(10):
            async with pa.AsyncPulse(process.api_key, base_url=process.base_url) as pulse:
                info = await pulse.app.info()
                async with pulse.chat.stream("hi", user="u") as stream:
                    kinds = [type(event).__name__ async for event in stream]
            slow = process.env["PULSEAI_SLOW_APP_KEY"]
            async with (
                pa.AsyncPulse(slow, base_url=process.base_url) as pulse,
                pulse.chat.stream("0", user="u") as stream,
            ):
                slow_kinds = {type(event).__name__ async for event in stream}
    finally:
        await anyio.to_thread.run_sync(process.stop)
    assert info.mode == mode
    assert (kinds[0] == "WorkflowStarted") is (mode == "advanced-chat")
    assert kinds[-1] == "MessageEnd"
    assert {"WorkflowStarted", "NodeStarted", "WorkflowFinished"} <= slow_kinds  # a chatflow


def test_command_line_rejects_a_bad_fault_plan() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulseai_async.testing", "--fault", '{"times": -1}'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not a fault plan" in result.stderr and ">= 0" in result.stderr


# --- the pytest plugin ----------------------------------------------------------------------

USER_TESTS = """
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_pulse_is_bound_to_the_emulator(pulse: pa.AsyncPulse, emulator: Emulator):
    reply = await pulse.chat.send("Hello", user="u1")
    assert reply.answer.startswith("You asked: Hello")
    assert emulator.hits("/chat-messages") == 1


@pytest.mark.pulseai_emulator(answer="Paris.", json_style="ascii")
async def test_marker_configures_the_emulator(pulse: pa.AsyncPulse, emulator: Emulator):
    assert emulator.json_style == "ascii"
    assert await pulse.chat.stream("Capital?", user="u1").final_text() == "Paris."


@pytest.mark.pulseai_emulator(app_mode="chat")
async def test_marker_picks_the_app_mode(pulse: pa.AsyncPulse, emulator: Emulator):
    assert (await pulse.app.info()).mode == "chat"
    events = [e async for e in pulse.chat.stream("hi", user="u1")]
    assert not any(isinstance(e, pa.WorkflowStarted) for e in events)


async def test_faults_reach_the_fixture_client(pulse: pa.AsyncPulse, emulator: Emulator):
    emulator.faults.add(Fault.error_after(2, "provider_quota_exceeded"))
    with pytest.raises(pa.ProviderQuotaExceededError) as caught:
        await pulse.chat.stream("q", user="u1").final_text()
    assert caught.value.partial_text == "You asked: "
"""


async def test_pytest_plugin_gives_users_emulator_and_pulse_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_user_suite.py").write_text(textwrap.dedent(USER_TESTS))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    command += ["-p", "no:asyncio"]  # anyio's plugin alone (tests/test_pytest_plugin.py: both)
    result = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


async def test_reset_forgets_conversations_and_knowledge_bases(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        old = await pulse.chat.send("before", user="u")
        await pulse.datasets.create(name="Before reset")
        emulator.reset()
        new = await pulse.chat.send("after", user="u")
        conversations = [c.id async for c in pulse.conversations.list(user="u")]
        datasets = [d.name async for d in pulse.datasets.list()]
    assert conversations == [new.conversation_id]
    assert old.conversation_id not in conversations
    assert datasets == []
    assert [r.path for r in emulator.requests].count("/chat-messages") == 1
