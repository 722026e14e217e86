"""Where Dify 1.9.1's own server disagreed with PulseAI's documentation (issue 13), the
SDK works with both. Each server here is purpose-built to answer exactly as Dify 1.9.1
was recorded answering (tests/contract runs the same against the real server)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable

import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import Serve

pytestmark = pytest.mark.anyio

KEY = "app-dify-compat-key"
IDS = {
    "conversation_id": "170a1bf7-c4b4-4a12-b741-70a63bb1725d",
    "message_id": "80884987-d902-40ec-b23a-94db54e7e931",
    "task_id": "9207c8cb-6dbf-4646-832e-cbf0158a9507",
    "created_at": 1796108318,
}
USAGE = {"total_tokens": 7, "prompt_tokens": 3, "completion_tokens": 4, "currency": "USD"}


def event(name: str, **fields: object) -> dict[str, object]:
    return {"event": name, **IDS, **fields}


def workflow_finished(status: str) -> dict[str, object]:
    return event("workflow_finished", data={"status": status, "error": None})


def chatflow(*tail: dict[str, object]) -> list[dict[str, object]]:
    """A chatflow stream as Dify 1.9.1 sends it, up to `tail` (its last events)."""
    return [
        event("workflow_started", data={}),
        event("node_started", data={"node_id": "start"}),
        event("message", answer="Hello", from_variable_selector=["sys", "query"]),
        event("message", answer="", from_variable_selector=["sys", "files"]),
        event("node_finished", data={"node_id": "start", "status": "succeeded"}),
        *tail,
    ]


def sse_app(events: Iterable[dict[str, object]]) -> web.Application:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)

    async def chat(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(body)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat-messages", chat)
    return app


async def read_stream(serve: Serve, events: list[dict[str, object]]) -> list[tuple[str, bool]]:
    """Each event's name and whether the stream said it was finished after it."""
    url = await serve(sse_app(events))
    seen = []
    async with (
        pa.AsyncPulse(KEY, base_url=url) as pulse,
        pulse.chat.stream("hi", user="u") as stream,
    ):
        async for item in stream:
            seen.append((item.event, stream.finished))
    return seen


# --- the end of a chatflow stream --------------------------------------------------------------


async def test_a_chatflow_is_finished_at_message_end_with_its_usage(serve: Serve) -> None:
    events = chatflow(
        workflow_finished("succeeded"),
        event("message_end", metadata={"usage": USAGE}, files=[]),
    )
    url = await serve(sse_app(events))
    async with (
        pa.AsyncPulse(KEY, base_url=url) as pulse,
        pulse.chat.stream("hi", user="u") as stream,
    ):
        async for item in stream:
            if isinstance(item, pa.WorkflowFinished):
                assert not stream.finished and stream.usage is None
                assert stream.workflow_status == "succeeded"
    assert stream.finished and stream.usage is not None and stream.usage.total_tokens == 7
    assert stream.text == "Hello"


async def test_a_stopped_chatflow_says_so(serve: Serve) -> None:
    events = chatflow(workflow_finished("stopped"), event("message_end", metadata={}))
    url = await serve(sse_app(events))
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        stream = await pulse.chat.stream("hi", user="u").until_done()
    assert stream.finished and stream.workflow_status == "stopped"


async def test_an_error_after_workflow_finished_is_raised(serve: Serve) -> None:
    """A failed run: `workflow_finished` (failed), then the `error` event."""
    events = chatflow(
        workflow_finished("failed"),
        event("error", status=400, code="invalid_param", message="Run failed: refused"),
    )
    url = await serve(sse_app(events))
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        stream = pulse.chat.stream("hi", user="u")
        with pytest.raises(pa.InvalidParamError, match="Run failed") as caught:
            async with stream:
                async for _ in stream:
                    assert not stream.finished  # a loop that stops when finished still raises
    assert stream.workflow_status == "failed" and not stream.finished
    assert caught.value.partial_text == "Hello"


async def test_workflow_finished_without_message_end_still_ends_the_stream(serve: Serve) -> None:
    seen = await read_stream(serve, chatflow(workflow_finished("succeeded")))
    assert seen[-1] == ("workflow_finished", False)  # no message_end may follow yet
    # ... but none did, and the stream ended: complete, not interrupted (no exception)


async def test_a_plain_chat_app_has_no_workflow_status(serve: Serve) -> None:
    events = [event("message", answer="Hi"), event("message_end", metadata={"usage": USAGE})]
    url = await serve(sse_app(events))
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        stream = await pulse.chat.stream("hi", user="u").until_done()
    assert stream.finished and stream.workflow_status is None


# --- a base URL without /v1 ---------------------------------------------------------------------

FLASK_404 = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually "
    b"please check your spelling and try again.</p>\n"
)


async def test_flasks_404_page_says_the_base_url_is_probably_wrong(serve: Serve) -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, body=FLASK_404, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    url = (await serve(app)).removesuffix("/v1")
    async with pa.AsyncPulse(KEY, base_url=url) as pulse:
        with pytest.raises(pa.NotFoundError) as caught:
            await pulse.app.info()
    assert "base_url" in str(caught.value) and "/v1" in str(caught.value)
    assert not isinstance(caught.value, pa.ConversationNotFoundError)


async def test_an_api_404_gets_no_base_url_hint(pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.ConversationNotFoundError) as caught:
        await pulse.conversations.rename("170a1bf7-c4b4-4a12-b741-70a63bb1725d", "x", user="u")
    assert "base_url" not in caught.value.message


# --- parameters(user=) ------------------------------------------------------------------------


async def test_parameters_sends_user_only_when_given(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    await pulse.app.parameters()
    await pulse.app.parameters(user="abc-123")
    queries = [r.query for r in emulator.requests_to("/parameters")]
    assert queries == [{}, {"user": "abc-123"}]
    with pytest.raises(pa.PulseValidationError, match="user"):
        await pulse.app.parameters(user="  ")


# --- knowledge documents ------------------------------------------------------------------------

DATASET = "5b973ac8-e6ba-49c7-9053-9ec3d8ec8443"
DOCUMENT = "c74e909a-32e1-4e5c-8190-6055bbe07703"
PYDANTIC_REFUSAL = (
    "1 validation error for KnowledgeConfig\nindexing_technique\n  Input should be "
    "'high_quality' or 'economy' [type=literal_error, input_value=None, input_type=NoneType]"
)


def refusing(path: str, message: str) -> web.Application:
    async def refuse(request: web.Request) -> web.Response:
        body = {"code": "invalid_param", "message": message, "status": 400}
        return web.json_response(body, status=400)

    app = web.Application()
    app.router.add_post(path, refuse)
    return app


async def test_create_from_text_without_indexing_technique_says_what_to_pass(
    serve: Serve,
) -> None:
    url = await serve(refusing(f"/v1/datasets/{DATASET}/document/create_by_text", PYDANTIC_REFUSAL))
    async with pa.AsyncPulse(knowledge_api_key="dataset-k", base_url=url) as pulse:
        with pytest.raises(pa.InvalidParamError) as caught:
            await pulse.datasets.documents.create_from_text(DATASET, "a.txt", "text")
    error = caught.value
    assert error.message.startswith(PYDANTIC_REFUSAL)  # the server's words, kept
    assert "pass the knowledge base's own, 'economy' or 'high_quality'" in str(error)
    assert (error.status, error.code, error.body["status"]) == (400, "invalid_param", 400)


async def test_a_name_only_update_refused_by_dify_says_what_to_send(serve: Serve) -> None:
    path = f"/v1/datasets/{DATASET}/documents/{DOCUMENT}/update_by_text"
    url = await serve(refusing(path, "Data source or Process rule is required"))
    async with pa.AsyncPulse(knowledge_api_key="dataset-k", base_url=url) as pulse:
        docs = pulse.datasets.documents
        with pytest.raises(pa.InvalidParamError, match="send text=") as caught:
            await docs.update_with_text(DATASET, DOCUMENT, name="renamed.txt")
        with pytest.raises(pa.InvalidParamError) as with_text:  # a refusal for another reason
            await docs.update_with_text(DATASET, DOCUMENT, name="n", text="t")
    assert caught.value.message.startswith("Data source or Process rule is required")
    assert with_text.value.message == "Data source or Process rule is required"


# --- uploads of bytes over 1 MiB ---------------------------------------------------------------


async def test_a_large_bytes_upload_raises_no_resource_warning(pulse: pa.AsyncPulse) -> None:
    """aiohttp warns about raw bytes bodies over 1 MiB; under `filterwarnings = error`
    that warning was an exception in the user's upload."""
    data = b"x" * (2 * 1024 * 1024)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uploaded = await pulse.files.upload(("big.txt", data), user="u")
    assert uploaded.size == len(data)
