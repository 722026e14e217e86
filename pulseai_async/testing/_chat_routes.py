"""Emulated Send Chat Message (blocking and streaming) and Stop Generate."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Callable, Container
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._faults import Fault, hang_up
from ._routes import Refusal, json_and_user, ok, success
from ._state import Conversation, StoredMessage, Task, new_id, now
from ._wire import ERROR_MESSAGES, PING, sse_data

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["setup"]

_TOKEN = re.compile(r"\S+\s*|\s+")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_PROMPT_PRICE = Decimal("0.001")
_COMPLETION_PRICE = Decimal("0.002")
_PRICE_UNIT = Decimal("0.001")  # prices are per 1000 tokens
TRANSFER_METHODS = ("remote_url", "local_file")
FILE_TYPES = ("image", "document", "audio", "video", "custom")
_ERROR_PINGS = 100  # servers have kept pinging after an in-stream error (dify #37197)


def tokens_of(text: str) -> list[str]:
    """Split an answer into stream deltas that join back to exactly the text."""
    return _TOKEN.findall(text)


def usage_for(prompt_tokens: int, completion_tokens: int, latency: float) -> dict[str, Any]:
    prompt_price = prompt_tokens * _PROMPT_PRICE * _PRICE_UNIT
    completion_price = completion_tokens * _COMPLETION_PRICE * _PRICE_UNIT
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_unit_price": str(_PROMPT_PRICE),
        "prompt_price_unit": str(_PRICE_UNIT),
        "prompt_price": f"{prompt_price:.7f}",
        "completion_tokens": completion_tokens,
        "completion_unit_price": str(_COMPLETION_PRICE),
        "completion_price_unit": str(_PRICE_UNIT),
        "completion_price": f"{completion_price:.7f}",
        "total_tokens": prompt_tokens + completion_tokens,
        "total_price": f"{prompt_price + completion_price:.7f}",
        "currency": "USD",
        "latency": latency,
    }


def _check_files(files: Any, uploaded: Container[str]) -> None:
    """`files` as the platform checks it: typed attachments, local ones uploaded first."""
    if files is None:
        return
    if not isinstance(files, list):
        raise Refusal(400, "invalid_param", "files must be a list.")
    for item in files:
        if not isinstance(item, dict) or item.get("transfer_method") not in TRANSFER_METHODS:
            raise Refusal(400, "invalid_param", "Invalid file transfer method.")
        if item.get("type") not in FILE_TYPES:
            raise Refusal(400, "invalid_param", "Invalid file type.")
    for item in files:
        if item["transfer_method"] == "local_file" and item.get("upload_file_id") not in uploaded:
            raise Refusal(400, "invalid_param", "Invalid upload file id.")


class _Turn:
    """One request's conversation, message and task."""

    def __init__(
        self, emulator: Emulator, conversation: Conversation, body: dict[str, Any]
    ) -> None:
        self.emulator = emulator
        self.conversation = conversation
        self.query: str = body["query"]
        self.inputs: dict[str, Any] = body.get("inputs") or {}
        self.files: list[dict[str, Any]] = body.get("files") or []
        self.message_id = new_id()
        self.created_at = now()
        self.task = Task(new_id(), conversation.user)
        self.started = asyncio.get_running_loop().time()

    def envelope(self, event: str) -> dict[str, Any]:
        return {
            "event": event,
            "conversation_id": self.conversation.id,
            "message_id": self.message_id,
            "created_at": self.created_at,
            "task_id": self.task.id,
        }

    def message(self, event: str, answer: str) -> dict[str, Any]:
        """A `message` (or blocking answer) event, which also carries `id`."""
        return {**self.envelope(event), "id": self.message_id, "answer": answer}

    def finish(self, answer: str, completion_tokens: int) -> dict[str, Any]:
        state = self.emulator.state
        state.add_message(
            self.conversation,
            StoredMessage(
                id=self.message_id,
                conversation_id=self.conversation.id,
                query=self.query,
                answer=answer,
                inputs=self.inputs,
                created_at=self.created_at,
                files=self.files,
            ),
        )
        self.task.finished = True
        state.tasks.pop(self.task.id, None)
        latency = asyncio.get_running_loop().time() - self.started
        return {
            "usage": usage_for(len(self.query.split()), completion_tokens, latency),
            "retriever_resources": [],
        }


def setup(app: web.Application, emulator: Emulator) -> None:
    async def chat_messages(request: web.Request) -> web.StreamResponse:
        body, user = await json_and_user(request)
        query = body.get("query")
        if not isinstance(query, str) or not query:
            raise Refusal(400, "invalid_param", "query is required")
        if not isinstance(body.get("inputs", {}), dict):
            raise Refusal(400, "invalid_param", "inputs must be an object.")
        mode = body.get("response_mode") or "blocking"
        if mode not in ("blocking", "streaming"):
            raise Refusal(400, "invalid_param", "response_mode must be blocking or streaming.")
        _check_files(body.get("files"), emulator.state.files)
        conversation_id = body.get("conversation_id") or ""
        if conversation_id:
            if not isinstance(conversation_id, str) or not _UUID.match(conversation_id):
                raise Refusal(400, "invalid_param", f"{conversation_id} is not a valid uuid.")
            conversation = emulator.state.conversation(conversation_id, user)
            if conversation is None:
                raise Refusal(404, "not_found", "Conversation Not Exists.")
        else:
            conversation = emulator.state.start_conversation(user, query, body.get("inputs") or {})
        turn = _Turn(emulator, conversation, body)
        if mode == "streaming":
            return await _stream(request, turn)
        answer = emulator.answer_for(query)
        metadata = turn.finish(answer, len(tokens_of(answer)))
        return ok(
            emulator,
            {**turn.message("message", answer), "mode": "chat", "metadata": metadata},
        )

    async def stop(request: web.Request) -> web.Response:
        _, user = await json_and_user(request)
        task = emulator.state.tasks.get(request.match_info["task_id"])
        if task is not None and task.user == user:
            task.stopped.set()
        return success(emulator)

    app.router.add_post("/v1/chat-messages", chat_messages)
    app.router.add_post("/v1/chat-messages/{task_id}/stop", stop)


async def _stream(request: web.Request, turn: _Turn) -> web.StreamResponse:
    emulator = turn.emulator
    fault = emulator.take_stream_fault(request)
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    style = emulator.json_style
    frame = _framer(emulator.event_ids)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Request-Id": new_id(),
        }
    )
    await response.prepare(request)
    emulator.state.tasks[turn.task.id] = turn.task
    if emulator.ping_first:
        await response.write(PING)
    answer = emulator.answer_for(turn.query)
    sent: list[str] = []
    for index, token in enumerate(tokens_of(answer)):
        if fault is not None and index == fault.after_events:
            if await _apply_stream_fault(request, response, turn, fault):
                return response
            fault = None
        if turn.task.stopped.is_set():
            break
        if emulator.token_delay:
            await asyncio.sleep(emulator.token_delay)
        await response.write(frame(sse_data(turn.message("message", token), style)))
        sent.append(token)
    if fault is not None and await _apply_stream_fault(request, response, turn, fault):
        return response  # a short answer: the fault fires before message_end
    end = {**turn.envelope("message_end"), "id": turn.message_id}
    end["metadata"] = turn.finish("".join(sent), len(sent))
    await response.write(frame(sse_data(end, style)))
    await response.write_eof()
    return response


def _framer(event_ids: bool) -> Callable[[bytes], bytes]:
    """Newest servers put an `id: <redis-stream-id>` line before each event's data."""
    if not event_ids:
        return lambda data: data
    base = int(time.time() * 1000)
    counter = itertools.count()
    return lambda data: f"id: {base}-{next(counter)}\n".encode() + data


async def _apply_stream_fault(
    request: web.Request, response: web.StreamResponse, turn: _Turn, fault: Fault
) -> bool:
    """Misbehave mid-stream; True when the stream must end here."""
    if fault.stall:
        await asyncio.sleep(fault.stall)
    if fault.malformed:
        await response.write(b'data: {"event": "message", "answer": \n\n')
    if fault.error_code is not None:
        error = {
            "event": "error",
            "conversation_id": turn.conversation.id,
            "message_id": turn.message_id,
            "created_at": turn.created_at,
            "status": fault.error_status,
            "code": fault.error_code,
            "message": fault.message or ERROR_MESSAGES.get(fault.error_code, fault.error_code),
        }
        await response.write(sse_data(error, turn.emulator.json_style))
        # Some servers keep pinging after an in-stream error (dify #37197): clients
        # must close the stream themselves.
        with contextlib.suppress(ConnectionError):
            for _ in range(_ERROR_PINGS):
                await asyncio.sleep(0.05)
                await response.write(PING)
        return True
    if fault.drop:
        await hang_up(request)
    return False
