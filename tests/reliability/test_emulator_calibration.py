"""The emulator against recordings of Dify 1.9.1 (tests/reliability/recordings/dify-1.9.1):
each recorded request is replayed against the emulator, configured as the recorded app
was, and the answer must have the same events in the same order (pings included), the
same field names at every depth, and the same headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest

import pulseai_async as pa
from pulseai_async.testing import AnswerNode, Chatflow, Emulator

pytestmark = pytest.mark.anyio

RECORDINGS = Path(__file__).parent / "recordings" / "dify-1.9.1"
CONTRACT_CHATFLOW = Chatflow(
    (
        AnswerNode(
            "answer",
            "Answer",
            "Echo: {{#sys.query#}} | fixed text from the Answer node. files=[{{#sys.files#}}]",
        ),
    )
)
"""The recorded app's one Answer node (shared/dify-live/provision.py)."""
SLOW_SCALE = 0.05
"""The slow recording slept 25 s with a ping every 10 s; the replay sleeps 1.25 s with
a ping every 0.5 s: the same two pings in the same place, twenty times faster (a
quarter of a second from each edge, so a busy machine does not move them)."""


def frames(raw: bytes) -> list[Any]:
    """An event stream's frames: "ping", or the JSON of a `data:` frame."""
    out: list[Any] = []
    for frame in raw.decode().split("\n\n"):
        if frame == "event: ping":
            out.append("ping")
        elif frame.startswith("data: "):
            out.append(json.loads(frame.removeprefix("data: ")))
        else:
            assert not frame.strip(), f"an unexpected frame: {frame!r}"
    return out


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every field name at every depth (`data.outputs.answer`), lists by their first item."""
    if isinstance(value, dict):
        paths = set()
        for key, item in value.items():
            paths |= {f"{prefix}{key}"} | key_paths(item, f"{prefix}{key}.")
        return paths
    if isinstance(value, list) and value:
        return key_paths(value[0], f"{prefix}[].")
    return set()


def step(event: Any) -> tuple[str, ...]:
    """What an event is in the sequence: its name and where it comes from."""
    if event == "ping":
        return ("ping",)
    data = event.get("data") or {}
    where = data.get("node_type") or ".".join(event.get("from_variable_selector", []))
    return (event["event"], where, str(data.get("status", "")))


def assert_like_the_recording(recorded: list[Any], replayed: list[Any]) -> None:
    assert [step(e) for e in replayed] == [step(e) for e in recorded]
    for real, emulated in zip(recorded, replayed, strict=True):
        if real != "ping":
            assert key_paths(emulated) == key_paths(real), step(real)


def recorded_headers(name: str) -> dict[str, str]:
    lines = (RECORDINGS / name).read_text().splitlines()[1:]
    pairs = (line.split(": ", 1) for line in lines if line)
    return {key.lower(): value for key, value in pairs}


def assert_headers_like(recorded: dict[str, str], response: aiohttp.ClientResponse) -> None:
    for name in ("server", "content-type", "access-control-allow-origin", "x-version", "x-env"):
        assert response.headers.get(name) == recorded[name], name
    assert "x-request-id" not in {key.lower() for key in response.headers}
    assert "x-request-id" not in recorded


@pytest.fixture
async def calibrated() -> Any:
    async with Emulator(ping_interval=10 * SLOW_SCALE) as emulator:
        emulator.chatflow = CONTRACT_CHATFLOW
        yield emulator


async def post(
    session: aiohttp.ClientSession, emulator: Emulator, key: str, body: dict[str, Any]
) -> aiohttp.ClientResponse:
    return await session.post(
        f"{emulator.base_url}/chat-messages",
        json={"user": "sse-capture", "inputs": {}, **body},
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.mark.parametrize(
    ("recording", "app", "query"),
    [
        ("real-stream.sse", "main", "What can PulseAI do?"),
        ("real-stream-fail.sse", "fail", "x"),
        ("real-stream-slow.sse", "slow", f"{25 * SLOW_SCALE:g}"),
    ],
)
async def test_a_streamed_answer_replays_as_recorded(
    calibrated: Emulator, recording: str, app: str, query: str
) -> None:
    key = {"main": calibrated.api_key, "fail": "app-emulator-fail", "slow": "app-emulator-slow"}
    with anyio.fail_after(20):
        async with aiohttp.ClientSession() as session:
            body = {"query": query, "response_mode": "streaming"}
            async with await post(session, calibrated, key[app], body) as response:
                assert response.status == 200
                replayed = frames(await response.read())
                headers = recording.replace(".sse", ".headers")
                if (RECORDINGS / headers).exists():
                    assert_headers_like(recorded_headers(headers), response)
    recorded = frames((RECORDINGS / recording).read_bytes())
    assert_like_the_recording(recorded, replayed)
    if app == "main":  # the same answer, piece by piece
        answers = [e["answer"] for e in recorded if e != "ping" and e["event"] == "message"]
        assert [e["answer"] for e in replayed if e["event"] == "message"] == answers


async def test_a_stopped_run_replays_as_recorded(calibrated: Emulator) -> None:
    """Stop Generate once the HTTP node runs: `workflow_finished` (stopped), then
    `message_end`, and the stop answers `{"result": "success"}`."""
    replayed: list[Any] = []
    with anyio.fail_after(20):
        async with aiohttp.ClientSession() as session:
            body = {"query": "6", "response_mode": "streaming"}
            async with await post(session, calibrated, "app-emulator-slow", body) as response:
                async for line in response.content:
                    if not line.startswith(b"data: "):
                        continue
                    event = json.loads(line.removeprefix(b"data: "))
                    replayed.append(event)
                    if event["event"] == "node_started" and event["data"]["node_id"] == "http":
                        async with session.post(
                            f"{calibrated.base_url}/chat-messages/{event['task_id']}/stop",
                            json={"user": "sse-capture"},
                            headers={"Authorization": "Bearer app-emulator-slow"},
                        ) as stopped:
                            assert await stopped.json() == {"result": "success"}
    recorded = frames((RECORDINGS / "real-stream-stop.sse").read_bytes())
    assert_like_the_recording(recorded, replayed)
    finished = next(e for e in replayed if e["event"] == "workflow_finished")
    assert (finished["data"]["status"], finished["data"]["error"]) == (
        "stopped",
        "Stopped by user.",
    )


async def test_the_blocking_answer_replays_as_recorded(calibrated: Emulator) -> None:
    raw_recording = (RECORDINGS / "real-blocking.json").read_bytes()
    with anyio.fail_after(10):
        async with aiohttp.ClientSession() as session:
            body = {"query": "Grüße", "response_mode": "blocking"}
            async with await post(session, calibrated, calibrated.api_key, body) as response:
                assert response.status == 200
                raw = await response.read()
    recorded, replayed = json.loads(raw_recording), json.loads(raw)
    assert list(replayed) == list(recorded)  # the same fields, in the same order
    assert key_paths(replayed) == key_paths(recorded)
    assert (replayed["mode"], replayed["answer"]) == (recorded["mode"], recorded["answer"])
    # Python's json.dumps, as recorded: ", " separators and non-ASCII escaped
    assert raw.startswith(b'{"event": "message", ') and b"Gr\\u00fc\\u00dfe" in raw
    assert msgspec.json.decode(raw) == replayed


async def test_pings_come_every_interval_and_never_first(calibrated: Emulator) -> None:
    """As in the slow recording's timing: the first ping one interval in, the next one
    interval later, while the HTTP node runs."""
    arrivals: list[tuple[float, bytes]] = []
    with anyio.fail_after(20):
        async with aiohttp.ClientSession() as session:
            body = {"query": f"{25 * SLOW_SCALE:g}", "response_mode": "streaming"}
            async with await post(session, calibrated, "app-emulator-slow", body) as response:
                started = anyio.current_time()
                async for line in response.content:
                    if line.strip():
                        arrivals.append((anyio.current_time() - started, line.split(b",")[0]))
    pings = [at for at, line in arrivals if line.startswith(b"event: ping")]
    assert not arrivals[0][1].startswith(b"event: ping")
    interval = calibrated.ping_interval
    assert interval is not None and len(pings) == 2
    assert pings[0] == pytest.approx(interval, abs=interval / 2)
    assert pings[1] - pings[0] == pytest.approx(interval, abs=interval / 2)


async def test_attached_files_render_as_dify_renders_them(calibrated: Emulator) -> None:
    """`{{#sys.files#}}` with an image attached, as measured on the same server (by hand,
    2026-12-01): `![name](<server>/files/<id>/file-preview?<signature>)`, one piece."""
    async with calibrated.client() as pulse:
        uploaded = await pulse.files.upload(("emu-dot.png", b"\x89PNG fake"), user="u")
        async with pulse.chat.stream("f", user="u", files=[uploaded]) as stream:
            pieces = [
                (event.answer, event.from_variable_selector)
                async for event in stream
                if isinstance(event, pa.MessageEvent)
            ]
    files_piece = next(answer for answer, selector in pieces if selector == ["sys", "files"])
    preview = f"{calibrated.base_url.removesuffix('/v1')}/files/{uploaded.id}/file-preview"
    assert files_piece == f"![emu-dot.png]({preview})"
