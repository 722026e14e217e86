"""Chatflow (advanced-chat) apps as Dify 1.9.1 runs them: a Start node, then a chain of
Answer and HTTP Request nodes, streamed with the workflow and node events around the
answer, in the order and with the fields of the recordings (docs/emulator.md).

The order follows Dify's response coordinator: an Answer node's template streams as
soon as its pieces are known (literals and `sys.*` at once, a node's output once that
node has run), and the next Answer node's template opens when the one before it
starts. So the first answer streams while the Start node runs, before its
`node_finished`, exactly as recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any, Literal

import msgspec

from ._state import new_id

__all__ = [
    "ANSWER",
    "ECHO",
    "FAILING",
    "SLOW",
    "AnswerNode",
    "Chatflow",
    "ChatflowRun",
    "HttpNode",
]

ANSWER = "{{answer}}"
"""In a template: the emulator's answer to the query (`Emulator.answer`), streamed in
tokens (one `message` event each)."""
_SELECTOR = re.compile(r"\{\{#([\w.]+)#\}\}")
_PART = re.compile(r"(\{\{#[\w.]+#\}\}|\{\{answer\}\})")
_REFUSED = "[Errno 111] Connection refused"
_REFUSED_REQUEST = "GET /nothing-listens-here HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"


class AnswerNode(msgspec.Struct, frozen=True):
    """An Answer node: its template is literal text, `{{#node.var#}}` selectors
    (`sys.query`, `sys.files`, `http.body`, ...) and `ANSWER`."""

    node_id: str
    title: str
    template: str


class HttpNode(msgspec.Struct, frozen=True):
    """An HTTP Request node: `sleep` waits `sys.query` seconds (0 to 60, as the loopback
    sleep server does) then outputs `body` "slept Ns"; `refused` fails as a closed port."""

    node_id: str
    title: str
    action: Literal["sleep", "refused"]


Node = AnswerNode | HttpNode


class Chatflow(msgspec.Struct, frozen=True):
    """A chatflow app's graph: the nodes after Start, run in order."""

    nodes: tuple[Node, ...]


ECHO = Chatflow((AnswerNode("answer", "Answer", ANSWER + "{{#sys.files#}}"),))
"""The default app: like `contract-chatflow`, one Answer node (the emulator's answer,
then `sys.files`, an empty piece without attachments)."""

SLOW = Chatflow(
    (
        AnswerNode("answer1", "Answer 1", "Thinking about {{#sys.query#}} ... "),
        HttpNode("http", "Slow HTTP", "sleep"),
        AnswerNode("answer2", "Answer 2", "done: {{#http.body#}}"),
    )
)
"""Like `contract-slow`: an HTTP node sleeps `sys.query` seconds."""

FAILING = Chatflow(
    (
        AnswerNode("answer1", "Answer 1", "Before the failing node: {{#sys.query#}} "),
        HttpNode("http", "Closed port", "refused"),
        AnswerNode("answer2", "Answer 2", "after: {{#http.body#}}"),
    )
)
"""Like `contract-fail`: an HTTP node to a closed port fails the run."""


class _Piece(msgspec.Struct, frozen=True):
    selector: tuple[str, ...]
    """`(node_id, "answer")` for literal text, else the variable's selector."""
    text: str | None = None
    """The literal text (None for a variable, or `ANSWER`)."""
    answer: bool = False


def _pieces(node: AnswerNode) -> list[_Piece]:
    """A template cut into what streams as one `message` event each."""
    pieces: list[_Piece] = []
    for part in _PART.split(node.template):
        if part == ANSWER:
            pieces.append(_Piece((node.node_id, "answer"), answer=True))
        elif match := _SELECTOR.fullmatch(part):
            pieces.append(_Piece(tuple(match.group(1).split("."))))
        elif part:
            pieces.append(_Piece((node.node_id, "answer"), part))
    return pieces


class ChatflowRun:
    """One run of a `Chatflow` for one chat turn: its ids, and its events in order.

    `envelope(event)` gives the fields every event of the turn carries; `tokens_of`
    splits the emulator's answer; `stopped` is the turn's Stop Generate flag.
    """

    def __init__(
        self,
        flow: Chatflow,
        *,
        envelope: Callable[[str], dict[str, Any]],
        conversation_id: str,
        query: str,
        answer: str,
        tokens_of: Callable[[str], list[str]],
        inputs: dict[str, Any],
        files: list[dict[str, Any]],
        files_markdown: str,
        user: str,
        app_id: str,
        workflow_id: str,
        end_user_id: str,
        dialogue_count: int,
        stopped: asyncio.Event,
    ) -> None:
        self.flow = flow
        self._envelope = envelope
        self.conversation_id = conversation_id
        self.query = query
        self.answer = answer
        self._tokens_of = tokens_of
        self.files = files
        self.files_markdown = files_markdown
        self.user = user
        self.workflow_id = workflow_id
        self.end_user_id = end_user_id
        self.stopped = stopped
        self.id = new_id()
        self.started = time.time()
        self.outputs: dict[str, dict[str, Any]] = {}
        self.streamed: list[str] = []
        """The answer pieces the run has produced, in order."""
        self.failure: str | None = None
        """The error of the node that failed the run, once it did."""
        self.sys = {
            **inputs,
            "sys.files": files,
            "sys.user_id": user,
            "sys.app_id": app_id,
            "sys.workflow_id": workflow_id,
            "sys.workflow_run_id": self.id,
            "sys.query": query,
            "sys.dialogue_count": dialogue_count,
        }

    # --- event shapes (as recorded) ---------------------------------------------------

    def _workflow_event(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        return {**self._envelope(event), "workflow_run_id": self.id, "data": data}

    def workflow_started(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "workflow_id": self.workflow_id,
            "inputs": self.sys,
            "created_at": int(self.started),
        }
        return self._workflow_event("workflow_started", data)

    def workflow_finished(self, status: str, error: str = "") -> dict[str, Any]:
        outputs = {"answer": "".join(self.streamed), "files": []} if status == "succeeded" else {}
        data = {
            "id": self.id,
            "workflow_id": self.workflow_id,
            "status": status,
            "outputs": outputs,
            "error": error,
            "elapsed_time": round(time.time() - self.started, 6),
            "total_tokens": 0,
            "total_steps": 0,
            "created_by": {"id": self.end_user_id, "user": self.user},
            "created_at": int(self.started),
            "finished_at": int(time.time()),
            "exceptions_count": 1 if status == "failed" else 0,
            "files": [],
        }
        return self._workflow_event("workflow_finished", data)

    def message(self, answer: str, selector: tuple[str, ...]) -> dict[str, Any]:
        envelope = self._envelope("message")
        return {
            **envelope,
            "id": envelope["message_id"],
            "answer": answer,
            "from_variable_selector": list(selector),
        }

    # --- running ---------------------------------------------------------------------

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The run's events up to `workflow_finished`, or to the failed node's
        `workflow_finished` (then `failure` holds the error); ends early when stopped."""
        answers = [node for node in self.flow.nodes if isinstance(node, AnswerNode)]
        queue = [_pieces(node) for node in answers]
        opened = 1  # answer templates open one by one (module docstring)
        start = _NodeRun("start", "start", "Start", self)
        yield self.workflow_started()
        yield start.started()
        for event in self._flush(queue, opened):
            yield event
        self.outputs["sys"] = {}
        yield start.finished(inputs=self._sys_inputs(), outputs=self._sys_inputs())
        for node in self.flow.nodes:
            if self.stopped.is_set():
                return
            if isinstance(node, AnswerNode):
                run = _NodeRun(node.node_id, "answer", node.title, self)
                yield run.started()
                opened += 1
                for event in self._flush(queue, opened):
                    yield event
                text = "".join(self._render(piece) for piece in _pieces(node))
                self.outputs[node.node_id] = {"answer": text}
                yield run.finished(outputs={"answer": text, "files": []})
                continue
            run = _NodeRun(node.node_id, "http-request", node.title, self)
            yield run.started()
            if node.action == "refused":
                self.failure = _REFUSED
                process = {"request": _REFUSED_REQUEST}
                yield run.finished(status="failed", error=_REFUSED, process_data=process)
                yield self.workflow_finished("failed", _REFUSED)
                return
            seconds = _seconds(self.query)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), seconds)
            if self.stopped.is_set():
                return
            body = f"slept {seconds:g}s"
            self.outputs[node.node_id] = {"body": body, "status_code": 200}
            for event in self._flush(queue, opened):
                yield event
            request = f"GET /sleep?seconds={self.query} HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n"
            outputs = {
                "status_code": 200,
                "body": body,
                "headers": {
                    "server": "BaseHTTP/0.6 Python/3.11.7",
                    "date": formatdate(usegmt=True),
                    "content-type": "text/plain",
                    "content-length": str(len(body)),
                },
                "files": [],
            }
            yield run.finished(outputs=outputs, process_data={"request": request})
        yield self.workflow_finished("succeeded")

    def _flush(self, queue: list[list[_Piece]], opened: int) -> list[dict[str, Any]]:
        """The `message` events whose pieces are known now, in template order."""
        events: list[dict[str, Any]] = []
        for pieces in queue[:opened]:
            while pieces:
                piece = pieces[0]
                if piece.text is None and not piece.answer and not self._known(piece.selector):
                    return events
                pieces.pop(0)
                texts = self._tokens_of(self.answer) if piece.answer else [self._render(piece)]
                self.streamed.extend(texts)
                events.extend(self.message(text, piece.selector) for text in texts)
        return events

    def _known(self, selector: tuple[str, ...]) -> bool:
        return selector[0] == "sys" or selector[0] in self.outputs

    def _render(self, piece: _Piece) -> str:
        if piece.answer:
            return self.answer
        if piece.text is not None:
            return piece.text
        node, name = piece.selector[0], ".".join(piece.selector[1:])
        if node == "sys":
            value = self.sys.get(f"sys.{name}")
            if name == "files":  # Dify renders files as Markdown links (empty without any)
                return self.files_markdown
            return "" if value is None else str(value)
        return str(self.outputs.get(node, {}).get(name, ""))

    def _sys_inputs(self) -> dict[str, Any]:
        return {**self.sys, "sys.conversation_id": self.conversation_id}


def _seconds(query: str) -> float:
    try:
        return min(max(float(query), 0.0), 60.0)
    except ValueError:
        return 5.0


class _NodeRun:
    """One node execution: its `node_started` and `node_finished` events."""

    def __init__(self, node_id: str, node_type: str, title: str, run: ChatflowRun) -> None:
        self.id = new_id()
        self.node_id = node_id
        self.node_type = node_type
        self.title = title
        self.run = run
        self.started_at = time.time()

    def _head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": self.node_id,
            "node_type": self.node_type,
            "title": self.title,
            "index": 1,
            "predecessor_node_id": None,
        }

    def started(self) -> dict[str, Any]:
        data = {
            **self._head(),
            "inputs": None,
            "inputs_truncated": False,
            "created_at": int(self.started_at),
            "extras": {},
            **_PARALLEL,
            "parallel_run_id": None,
            "agent_strategy": None,
        }
        return self.run._workflow_event("node_started", data)

    def finished(
        self,
        *,
        status: str = "succeeded",
        error: str | None = None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        process_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        data = {
            **self._head(),
            "inputs": inputs or {},
            "inputs_truncated": False,
            "process_data": process_data or {},
            "process_data_truncated": False,
            "outputs": outputs or {},
            "outputs_truncated": False,
            "status": status,
            "error": error,
            "elapsed_time": round(time.time() - self.started_at, 6),
            "execution_metadata": {},
            "created_at": int(self.started_at),
            "finished_at": int(time.time()),
            "files": [],
            **_PARALLEL,
        }
        return self.run._workflow_event("node_finished", data)


_PARALLEL: dict[str, Any] = {
    "parallel_id": None,
    "parallel_start_node_id": None,
    "parent_parallel_id": None,
    "parent_parallel_start_node_id": None,
    "iteration_id": None,
    "loop_id": None,
}
