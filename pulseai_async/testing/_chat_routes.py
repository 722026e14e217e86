"""Emulated Send Chat Message (blocking and streaming) and Stop Generate."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncGenerator, Callable, Container
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._chatflow import Chatflow, ChatflowRun
from ._faults import Fault, hang_up
from ._file_routes import end_user_id
from ._refusal import Refusal
from ._routes import UUID, json_and_user, ok, success
from ._state import Conversation, StoredMessage, Task, new_id, now
from ._wire import ERROR_MESSAGES, PING, sse_data

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["setup"]

_TOKEN = re.compile(r"\S+\s*|\s+")
_PROMPT_PRICE = Decimal("0.001")
_COMPLETION_PRICE = Decimal("0.002")
_PRICE_UNIT = Decimal("0.001")  # prices are per 1000 tokens
TRANSFER_METHODS = ("remote_url", "local_file")
FILE_TYPES = ("image", "document", "audio", "video", "custom")
_ERROR_PINGS = 100  # servers have kept pinging after an in-stream error (dify #37197)
_END: dict[str, Any] = {"event": "message_end"}
_STOPPED = "Stopped by user."
_FAILED = "The run failed (a scripted fault)."


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
        if item["transfer_method"] != "local_file":
            continue
        file_id = item.get("upload_file_id")
        if not isinstance(file_id, str) or file_id not in uploaded:
            raise Refusal(400, "invalid_param", "Invalid upload file id.")


def _markdown(emulator: EmulatorView, item: dict[str, Any]) -> str:
    """An attachment as Dify 1.9.1 renders `sys.files`: `![name](url)` for an image,
    `[name](url)` for another file (measured; Dify's URL is signed, this one is not)."""
    stored = emulator.state.files.get(str(item.get("upload_file_id")))
    if stored is not None:
        url = f"{emulator.base_url.removesuffix('/v1')}/files/{stored.id}/file-preview"
        name = stored.name
    else:
        url = name = str(item.get("url") or "")
    return f"![{name}]({url})" if item.get("type") == "image" else f"[{name}]({url})"


class _Turn:
    """One request's conversation, message and task, and (on a chatflow) its run."""

    def __init__(
        self,
        emulator: EmulatorView,
        conversation: Conversation,
        body: dict[str, Any],
        flow: Chatflow | None,
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
        self.sent: list[str] = []
        """The answer pieces sent so far (all of them, in blocking mode)."""
        self.run: ChatflowRun | None = None
        if flow is not None:
            self.run = ChatflowRun(
                flow,
                envelope=self.envelope,
                conversation_id=conversation.id,
                query=self.query,
                answer=emulator.answer_for(self.query),
                tokens_of=tokens_of,
                inputs=self.inputs,
                files=self.files,
                files_markdown="\n".join(_markdown(emulator, item) for item in self.files),
                user=conversation.user,
                app_id=emulator.app_id,
                workflow_id=emulator.workflow_id,
                end_user_id=end_user_id(conversation.user),
                dialogue_count=len(conversation.messages) + 1,
                stopped=self.task.stopped,
            )

    @property
    def mode(self) -> str:
        return "chat" if self.run is None else "advanced-chat"

    def envelope(self, event: str) -> dict[str, Any]:
        return {
            "event": event,
            "conversation_id": self.conversation.id,
            "message_id": self.message_id,
            "created_at": self.created_at,
            "task_id": self.task.id,
        }

    def message(self, answer: str) -> dict[str, Any]:
        """A plain chat app's `message` event, which also carries `id`."""
        return {**self.envelope("message"), "id": self.message_id, "answer": answer}

    def error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """An in-stream `error` event (Dify 1.9.1's field order)."""
        head = self.envelope("error")
        del head["task_id"]
        return {**head, "code": code, "status": status, "message": message}

    def _store(self) -> dict[str, Any]:
        """Store the message with the answer sent, end the task; the answer's metadata."""
        answer = "".join(self.sent)
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
        completion_tokens = len([piece for piece in self.sent if piece])
        usage = usage_for(len(self.query.split()), completion_tokens, latency)
        if self.run is None:
            return {"usage": usage, "retriever_resources": []}
        return {"annotation_reply": None, "retriever_resources": [], "usage": usage}

    def message_end(self) -> dict[str, Any]:
        """The turn's last event; it stores the message with the answer sent."""
        end = {**self.envelope("message_end"), "id": self.message_id}
        end["metadata"] = self._store()
        if self.run is not None:
            end["files"] = []
        return end

    def blocking(self) -> dict[str, Any]:
        """The blocking answer, in the recorded field order."""
        return {
            "event": "message",
            "task_id": self.task.id,
            "id": self.message_id,
            "message_id": self.message_id,
            "conversation_id": self.conversation.id,
            "mode": self.mode,
            "answer": "".join(self.sent),
            "metadata": self._store(),
            "created_at": self.created_at,
        }

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        """Every event of the answer, to `message_end` (or a chatflow's `error`); a
        stopped turn ends early, and `stopped_ending()` then gives the rest."""
        if self.run is None:
            for token in tokens_of(self.emulator.answer_for(self.query)):
                yield self.message(token)
                if self.task.stopped.is_set():
                    return
        else:
            async for event in self.run.events():
                yield event
            if self.run.failure is not None:
                yield self.error(400, "invalid_param", f"Run failed: {self.run.failure}")
                return
        if not self.task.stopped.is_set():
            yield _END  # built when sent: `message_end()` stores the message

    def stopped_ending(self) -> list[dict[str, Any]]:
        """After Stop Generate: a chatflow's `workflow_finished` (stopped), then
        `message_end` with the answer sent so far."""
        head = [] if self.run is None else [self.run.workflow_finished("stopped", _STOPPED)]
        return [*head, self.message_end()]

    def failed_ending(self) -> list[dict[str, Any]]:
        """What precedes a scripted in-stream error: a chatflow's failed run."""
        return [] if self.run is None else [self.run.workflow_finished("failed", _FAILED)]


def setup(app: web.Application, emulator: EmulatorView) -> None:
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
            if not isinstance(conversation_id, str) or not UUID.match(conversation_id):
                raise Refusal(400, "invalid_param", f"{conversation_id} is not a valid uuid.")
            conversation = emulator.state.conversation(conversation_id, user)
            if conversation is None:
                raise Refusal(404, "not_found", "Conversation Not Exists.")
        else:
            conversation = emulator.state.start_conversation(user, query, body.get("inputs") or {})
        turn = _Turn(emulator, conversation, body, emulator.chatflow_of(request))
        if mode == "streaming":
            return await _stream(request, turn)
        async with contextlib.aclosing(turn.events()) as events:
            async for event in events:
                if event["event"] == "error":
                    raise Refusal(event["status"], event["code"], event["message"])
                if event["event"] == "message":
                    turn.sent.append(event["answer"])
        return ok(emulator, turn.blocking(), encoding="blocking")  # stores the message

    async def stop(request: web.Request) -> web.Response:
        _, user = await json_and_user(request)
        task = emulator.state.tasks.get(request.match_info["task_id"])
        if task is not None and task.user == user:
            task.stopped.set()
        return success(emulator)

    app.router.add_post("/v1/chat-messages", chat_messages)
    app.router.add_post("/v1/chat-messages/{task_id}/stop", stop)


class _Writer:
    """Writes a stream's frames one at a time: the answer's, and the pings between."""

    def __init__(self, response: web.StreamResponse, emulator: EmulatorView) -> None:
        self.response = response
        self.style = emulator.json_style
        self.frame = _framer(emulator.event_ids)
        self.lock = asyncio.Lock()

    async def event(self, obj: dict[str, Any]) -> None:
        await self.raw(self.frame(sse_data(obj, self.style)))

    async def raw(self, data: bytes) -> None:
        async with self.lock:
            await self.response.write(data)

    async def ping_every(self, interval: float) -> None:
        """A ping at every `interval` since the stream began, as Dify's queue listener
        publishes them (so, in practice, while the run is quiet); never first."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        with contextlib.suppress(ConnectionError):
            for beat in itertools.count(1):
                await asyncio.sleep(max(0.0, began + beat * interval - loop.time()))
                await self.raw(PING)


async def _stream(request: web.Request, turn: _Turn) -> web.StreamResponse:
    emulator = turn.emulator
    fault = emulator.take_stream_fault(request)
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)
    emulator.state.tasks[turn.task.id] = turn.task
    writer = _Writer(response, emulator)
    pinger = None
    if emulator.ping_interval:
        pinger = asyncio.create_task(writer.ping_every(emulator.ping_interval))
    try:
        if emulator.ping_first:
            await writer.raw(PING)
        if await _send(request, writer, turn, fault):
            return response
    finally:
        if pinger is not None:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
    await response.write_eof()
    return response


async def _send(request: web.Request, writer: _Writer, turn: _Turn, fault: Fault | None) -> bool:
    """Write the turn's events, with the fault's misbehaviour after `after_events`
    `message` events (or before the run's end, for a shorter answer); True when the
    fault ended the stream."""
    messages = 0
    ending = ("message_end", "workflow_finished", "error")
    async with contextlib.aclosing(turn.events()) as events:
        async for event in events:
            kind = event["event"]
            due = fault is not None and (
                (kind == "message" and messages == fault.after_events) or kind in ending
            )
            if due:
                assert fault is not None
                if await _apply_stream_fault(request, writer, turn, fault):
                    return True
                fault = None
            if kind == "message":
                if turn.task.stopped.is_set():
                    break
                if turn.emulator.token_delay:
                    await asyncio.sleep(turn.emulator.token_delay)
                messages += 1
                turn.sent.append(event["answer"])
            await writer.event(turn.message_end() if event is _END else event)
    if turn.task.stopped.is_set() and not turn.task.finished:
        for event in turn.stopped_ending():
            await writer.event(event)
    return False


def _framer(event_ids: bool) -> Callable[[bytes], bytes]:
    """Newest servers put an `id: <redis-stream-id>` line before each event's data."""
    if not event_ids:
        return lambda data: data
    base = int(time.time() * 1000)
    counter = itertools.count()
    return lambda data: f"id: {base}-{next(counter)}\n".encode() + data


async def _apply_stream_fault(
    request: web.Request, writer: _Writer, turn: _Turn, fault: Fault
) -> bool:
    """Misbehave mid-stream; True when the stream must end here."""
    if fault.stall:
        await asyncio.sleep(fault.stall)
    if fault.malformed:
        await writer.raw(b'data: {"event": "message", "answer": \n\n')
    if fault.error_code is not None:
        message = fault.message or ERROR_MESSAGES.get(fault.error_code, fault.error_code)
        for event in turn.failed_ending():  # a chatflow: the failed run, as recorded
            await writer.event(event)
        await writer.event(turn.error(fault.error_status, fault.error_code, message))
        if turn.run is None:
            # Some servers keep pinging after an in-stream error on a plain chat app
            # (dify #37197): clients must close the stream themselves.
            with contextlib.suppress(ConnectionError):
                for _ in range(_ERROR_PINGS):
                    await asyncio.sleep(0.05)
                    await writer.raw(PING)
        return True
    if fault.drop:
        await hang_up(request)
    return False
