"""Every streamed event as a msgspec Struct in one union tagged on the `event` field.

Decoding is one msgspec call per event straight from bytes. An event name the SDK does
not know yet becomes `UnknownEvent` (its name and raw fields), never an exception.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from .._errors import ResponseDecodeError
from .._models import Model
from .answer import MessageMetadata

__all__ = [
    "AgentLog",
    "AgentMessageEvent",
    "AgentThought",
    "ChatEvent",
    "ErrorEvent",
    "Event",
    "HumanInputFormFilled",
    "HumanInputFormTimeout",
    "HumanInputRequired",
    "IterationCompleted",
    "IterationNext",
    "IterationStarted",
    "LoopCompleted",
    "LoopNext",
    "LoopStarted",
    "MessageEnd",
    "MessageEvent",
    "MessageFile",
    "MessageReplace",
    "NodeData",
    "NodeFinished",
    "NodeRetry",
    "NodeStarted",
    "ParallelBranchFinished",
    "ParallelBranchStarted",
    "Ping",
    "ReasoningChunk",
    "TTSMessage",
    "TTSMessageEnd",
    "TextChunk",
    "TextReplace",
    "UnknownEvent",
    "WorkflowData",
    "WorkflowFinished",
    "WorkflowPaused",
    "WorkflowStarted",
    "decode_event",
]


class Event(Model, tag_field="event"):
    """Fields every chat event may carry (the envelope the server adds)."""

    conversation_id: str | None = None
    message_id: str | None = None
    created_at: int | None = None
    task_id: str | None = None

    @property
    def event(self) -> str:
        """The event's name on the wire (`"message"`, `"message_end"`, ...)."""
        return type(self).__struct_config__.tag  # type: ignore[return-value]


# --- reply events -------------------------------------------------------------------


class MessageEvent(Event, tag="message"):
    """A piece of the answer (`answer` is the delta)."""

    id: str | None = None
    answer: str = ""
    from_variable_selector: list[str] | None = None


class AgentMessageEvent(Event, tag="agent_message"):
    """A piece of an Agent app's answer."""

    id: str | None = None
    answer: str = ""


class AgentThought(Event, tag="agent_thought"):
    """An Agent reasoning step; the same `id` may be re-sent as it fills in."""

    id: str | None = None
    position: int | None = None
    thought: str | None = None
    observation: str | None = None
    tool: str | None = None
    tool_labels: dict[str, Any] | None = None
    tool_input: str | None = None
    message_files: list[str] | None = None


class MessageFile(Event, tag="message_file"):
    """A file the assistant produced."""

    id: str | None = None
    type: str | None = None
    belongs_to: str | None = None
    url: str | None = None


class MessageEnd(Event, tag="message_end"):
    """The answer is complete; carries usage and retriever resources."""

    id: str | None = None
    metadata: MessageMetadata = msgspec.field(default_factory=MessageMetadata)
    files: list[dict[str, Any]] | None = None


class MessageReplace(Event, tag="message_replace"):
    """Output moderation replaced the whole answer with `answer`."""

    answer: str = ""
    reason: str | None = None


class TTSMessage(Event, tag="tts_message"):
    """A base64 chunk of synthesized speech."""

    audio: str = ""


class TTSMessageEnd(Event, tag="tts_message_end"):
    audio: str = ""


class ReasoningChunk(Event, tag="reasoning_chunk"):
    data: dict[str, Any] = msgspec.field(default_factory=dict)


# --- chatflow events ----------------------------------------------------------------


class WorkflowData(Model):
    """The `data` of workflow_started / workflow_finished."""

    id: str | None = None
    workflow_id: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    status: str | None = None
    error: str | None = None
    elapsed_time: float | None = None
    total_tokens: int | None = None
    total_steps: int | None = None
    created_at: int | None = None
    finished_at: int | None = None
    sequence_number: int | None = None
    exceptions_count: int | None = None
    files: list[dict[str, Any]] | None = None


class NodeData(Model):
    """The `data` of node_started / node_finished / node_retry."""

    id: str | None = None
    node_id: str | None = None
    node_type: str | None = None
    title: str | None = None
    index: int | None = None
    predecessor_node_id: str | None = None
    inputs: dict[str, Any] | None = None
    process_data: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    status: str | None = None
    error: str | None = None
    elapsed_time: float | None = None
    execution_metadata: dict[str, Any] | None = None
    created_at: int | None = None
    finished_at: int | None = None
    iteration_id: str | None = None
    loop_id: str | None = None
    retry_index: int | None = None


class _WorkflowEvent(Event):
    workflow_run_id: str | None = None


class WorkflowStarted(_WorkflowEvent, tag="workflow_started"):
    data: WorkflowData = msgspec.field(default_factory=WorkflowData)


class WorkflowFinished(_WorkflowEvent, tag="workflow_finished"):
    data: WorkflowData = msgspec.field(default_factory=WorkflowData)


class NodeStarted(_WorkflowEvent, tag="node_started"):
    data: NodeData = msgspec.field(default_factory=NodeData)


class NodeFinished(_WorkflowEvent, tag="node_finished"):
    data: NodeData = msgspec.field(default_factory=NodeData)


class NodeRetry(_WorkflowEvent, tag="node_retry"):
    data: NodeData = msgspec.field(default_factory=NodeData)


class _GenericWorkflowEvent(_WorkflowEvent):
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class IterationStarted(_GenericWorkflowEvent, tag="iteration_started"): ...


class IterationNext(_GenericWorkflowEvent, tag="iteration_next"): ...


class IterationCompleted(_GenericWorkflowEvent, tag="iteration_completed"): ...


class LoopStarted(_GenericWorkflowEvent, tag="loop_started"): ...


class LoopNext(_GenericWorkflowEvent, tag="loop_next"): ...


class LoopCompleted(_GenericWorkflowEvent, tag="loop_completed"): ...


class ParallelBranchStarted(_GenericWorkflowEvent, tag="parallel_branch_started"): ...


class ParallelBranchFinished(_GenericWorkflowEvent, tag="parallel_branch_finished"): ...


class AgentLog(_GenericWorkflowEvent, tag="agent_log"): ...


class TextChunk(_GenericWorkflowEvent, tag="text_chunk"): ...


class TextReplace(_GenericWorkflowEvent, tag="text_replace"): ...


class WorkflowPaused(_GenericWorkflowEvent, tag="workflow_paused"): ...


class HumanInputRequired(_GenericWorkflowEvent, tag="human_input_required"): ...


class HumanInputFormFilled(_GenericWorkflowEvent, tag="human_input_form_filled"): ...


class HumanInputFormTimeout(_GenericWorkflowEvent, tag="human_input_form_timeout"): ...


# --- transport events ---------------------------------------------------------------


class ErrorEvent(Event, tag="error"):
    """An in-stream failure; the stream raises the matching `APIStatusError` for it."""

    status: int | None = None
    code: str | None = None
    message: str | None = None


class Ping(Event, tag="ping"):
    """A keep-alive; streams skip it."""


class UnknownEvent(Model):
    """An event this SDK version does not know: its name and raw fields."""

    event: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


KnownEvent = (
    MessageEvent
    | AgentMessageEvent
    | AgentThought
    | MessageFile
    | MessageEnd
    | MessageReplace
    | TTSMessage
    | TTSMessageEnd
    | ReasoningChunk
    | WorkflowStarted
    | WorkflowFinished
    | NodeStarted
    | NodeFinished
    | NodeRetry
    | IterationStarted
    | IterationNext
    | IterationCompleted
    | LoopStarted
    | LoopNext
    | LoopCompleted
    | ParallelBranchStarted
    | ParallelBranchFinished
    | AgentLog
    | TextChunk
    | TextReplace
    | WorkflowPaused
    | HumanInputRequired
    | HumanInputFormFilled
    | HumanInputFormTimeout
    | ErrorEvent
    | Ping
)
ChatEvent = KnownEvent | UnknownEvent
"""What a chat stream yields."""

KNOWN_EVENT_NAMES: frozenset[str] = frozenset(
    cls.__struct_config__.tag for cls in KnownEvent.__args__
)

_dict_decoder = msgspec.json.Decoder(dict[str, Any])


@functools.cache
def known_event_decoder() -> msgspec.json.Decoder[KnownEvent]:
    """The decoder for the whole union, built on first use: building it costs more
    than the rest of this module's import, and a program may never stream."""
    return msgspec.json.Decoder(KnownEvent, strict=False)


def decode_event(data: bytes, sse_event: str = "message") -> ChatEvent:
    """Decode one event's data. Raises `ResponseDecodeError` for data that is not a JSON
    object, or for a known event whose fields have the wrong types."""
    try:
        return known_event_decoder().decode(data)
    except msgspec.ValidationError as exc:
        error: Exception = exc
    except (msgspec.DecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        raise ResponseDecodeError(f"malformed event data: {exc}", body=data[:2000]) from None
    try:
        fields = _dict_decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        raise ResponseDecodeError(
            f"event data is not a JSON object: {error}", body=data[:2000]
        ) from None
    name = fields.get("event")
    if not isinstance(name, str):
        name = sse_event
    if name in KNOWN_EVENT_NAMES:
        raise ResponseDecodeError(f"malformed {name!r} event: {error}", body=data[:2000])
    return UnknownEvent(event=name, data=fields)
