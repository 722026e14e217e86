"""What an independent fuzzer found the emulator answering that no real server does
(issue 13), each pinned down, and a property over raw bytes: nothing a client sends,
however malformed, gets anything but the platform's JSON error shape."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import anyio
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pulseai_async as pa
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

APP = {"Authorization": "Bearer app-emulator-key"}
KNOWLEDGE = {"Authorization": "Bearer dataset-emulator-key"}
EXAMPLES = 200
"""Raw requests the property sends (the report quotes this figure)."""


async def answer(
    emulator: Emulator, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, str, Any]:
    """Status, Content-Type and the decoded JSON (None if it is not JSON)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emulator.base_url + path, headers=headers, **kwargs) as response,
    ):
        body = await response.read()
        try:
            decoded = await response.json(content_type=None) if body else None
        except ValueError:
            decoded = None
        return response.status, response.content_type, decoded


def assert_platform_error(status: int, content_type: str, body: Any, expected: int) -> None:
    assert status == expected and content_type == "application/json"
    assert isinstance(body, dict) and set(body) == {"code", "message", "status"}
    assert body["status"] == status


async def test_multipart_without_a_boundary_is_a_json_400(emulator: Emulator) -> None:
    headers = {**APP, "Content-Type": "multipart/form-data"}
    got = await answer(emulator, "POST", "/files/upload", headers, data=b"--x\r\n\r\n")
    assert_platform_error(*got, 400)
    assert got[2]["code"] == "no_file_uploaded"


async def test_a_control_byte_in_a_part_header_is_a_json_400(emulator: Emulator) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x01.txt"\r\n'
        b"Content-\x00Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
    )
    headers = {**APP, "Content-Type": "multipart/form-data; boundary=b"}
    assert_platform_error(*await answer(emulator, "POST", "/files/upload", headers, data=body), 400)


@pytest.mark.parametrize("file_id", [{"id": 1}, ["x"], 7, None])
async def test_a_non_string_upload_file_id_is_a_json_400(emulator: Emulator, file_id: Any) -> None:
    body = {
        "query": "hi",
        "user": "u",
        "inputs": {},
        "files": [{"type": "image", "transfer_method": "local_file", "upload_file_id": file_id}],
    }
    got = await answer(emulator, "POST", "/chat-messages", APP, json=body)
    assert_platform_error(*got, 400)
    assert got[2]["message"] == "Invalid upload file id."


async def test_knowledge_objects_name_their_account_by_uuid(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.request(
        "POST",
        "/datasets",
        json={"name": "Owners", "indexing_technique": "economy"},
        scope="knowledge",
    )
    created = await pulse.request(
        "POST",
        f"/datasets/{dataset['id']}/document/create_by_text",
        json={"name": "a.txt", "text": "some text", "indexing_technique": "economy"},
        scope="knowledge",
    )
    for who in (dataset["created_by"], dataset["updated_by"], created["document"]["created_by"]):
        uuid.UUID(who)


@pytest.mark.parametrize("page", ["0", "-3", "abc"])
async def test_a_page_out_of_range_serves_page_one(emulator: Emulator, page: str) -> None:
    async with emulator.client() as pulse:
        await pulse.datasets.create("Paged", indexing_technique="economy")
    status, _, body = await answer(emulator, "GET", f"/datasets?page={page}", KNOWLEDGE)
    assert status == 200 and [d["name"] for d in body["data"]] == ["Paged"]


async def test_an_empty_conversation_id_lists_no_messages(emulator: Emulator) -> None:
    got = await answer(emulator, "GET", "/messages?conversation_id=&user=u", APP)
    assert got == (200, "application/json", {"limit": 20, "has_more": False, "data": []})


async def test_updates_without_a_file_or_with_empty_text_are_allowed(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 0
    dataset = await pulse.datasets.create("Updates", indexing_technique="economy")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "a.txt", "the first text", indexing_technique="economy"
    )
    path = f"/datasets/{dataset.id}/documents/{created.document.id}"
    rule = '{"name": "b.txt", "process_rule": {"mode": "automatic"}}'
    form = aiohttp.FormData()
    form.add_field("data", rule, content_type="text/plain")  # multipart, without a file
    status, _, body = await answer(emulator, "POST", path + "/update_by_file", KNOWLEDGE, data=form)
    assert status == 200 and body["document"]["name"] == "b.txt"
    body_json = {"name": "c.txt", "text": "", "process_rule": {"mode": "automatic"}}
    status, _, body = await answer(
        emulator, "POST", path + "/update_by_text", KNOWLEDGE, json=body_json
    )
    assert status == 200 and body["document"]["name"] == "c.txt"
    chunks = [c.content async for c in pulse.datasets.chunks.list(dataset.id, created.document.id)]
    assert chunks == ["the first text"]  # empty text keeps the content


# --- anything at all ------------------------------------------------------------------------

UPLOADS = ["/files/upload", "/audio-to-text"]
JSON_PATHS = ["/chat-messages", "/messages/x/feedbacks", "/text-to-audio", "/datasets"]
content_types = st.one_of(
    st.sampled_from(
        [
            "multipart/form-data",
            "multipart/form-data; boundary=b",
            'multipart/form-data; boundary="b"',
            "multipart/mixed; boundary=b",
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
        lambda t: "multipart/form-data; " + t
    ),
)
part_header = st.binary(max_size=40)
multipart_bodies = st.builds(
    lambda head, filename, body, tail: (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\n'
        + head
        + b"\r\n\r\n"
        + body
        + tail
    ),
    part_header,
    st.binary(max_size=12),
    st.binary(max_size=60),
    st.sampled_from([b"\r\n--b--\r\n", b"\r\n--b", b"", b"\r\n--b\r\n"]),
)


@pytest.mark.parametrize("app_mode", ["advanced-chat", "chat"])
async def test_no_bytes_get_anything_but_the_platform_s_error_shape(app_mode: str) -> None:
    async with Emulator(app_mode=app_mode) as emulator, aiohttp.ClientSession() as session:
        requests: list[tuple[str, str, bytes]] = []

        @settings(
            max_examples=EXAMPLES // 2,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(
            path=st.sampled_from(UPLOADS + JSON_PATHS),
            content_type=content_types,
            body=st.one_of(multipart_bodies, st.binary(max_size=200)),
        )
        def collect(path: str, content_type: str, body: bytes) -> None:
            requests.append((path, content_type, body))

        collect()
        for path, content_type, body in requests:
            headers = {**(KNOWLEDGE if path.startswith("/datasets") else APP)}
            if content_type:
                headers["Content-Type"] = content_type
            with anyio.fail_after(10):
                async with session.post(
                    emulator.base_url + path, data=body, headers=headers
                ) as response:
                    raw = await response.read()
                    where = (path, content_type, body[:80])
                    assert response.status < 500, where
                    if response.status >= 400:
                        assert response.content_type == "application/json", where
                        decoded = await response.json()
                        assert set(decoded) == {"code", "message", "status"}, where
                        assert decoded["status"] == response.status, where
                    else:
                        assert raw, where
