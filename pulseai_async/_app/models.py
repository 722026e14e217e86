"""Typed shapes of the App API's non-chat answers: files, conversations, history,
application information (msgspec Structs, tolerant like every `Model`).

Fields that only newer servers send have defaults, so old and new answers decode to the
same types.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import msgspec

from .._models import Model
from .._streaming.answer import RetrieverResource

__all__ = [
    "AppInfo",
    "AppMeta",
    "AppParameters",
    "Conversation",
    "FeatureToggle",
    "FileUploadSettings",
    "FormControl",
    "HistoryMessage",
    "HistoryMessageFile",
    "ImageUploadSettings",
    "MessageAgentThought",
    "MessageFeedback",
    "SystemParameters",
    "TextToSpeechSettings",
    "ToolIcon",
    "Transcription",
    "UploadedFile",
]


def _chat_file_type(mime_type: str | None, extension: str | None) -> str:
    mime = mime_type or mimetypes.guess_type(f"x.{extension or ''}")[0] or ""
    major = mime.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        return major
    return "document"


class UploadedFile(Model):
    """File Upload's answer. Pass it (or `as_chat_file()`) in `chat.send(files=[...])`."""

    id: str
    name: str = ""
    size: int = 0
    extension: str = ""
    mime_type: str | None = None
    created_by: str | None = None
    created_at: int | None = None
    preview_url: str | None = None
    source_url: str | None = None
    original_url: str | None = None
    user_id: str | None = None
    tenant_id: str | None = None
    conversation_id: str | None = None
    file_key: str | None = None

    def as_chat_file(self, type: str | None = None) -> dict[str, Any]:
        """The `files` item chat expects; `type` defaults from the MIME type
        (`image`, `audio`, `video`, else `document`)."""
        return {
            "type": type or _chat_file_type(self.mime_type, self.extension),
            "transfer_method": "local_file",
            "upload_file_id": self.id,
        }


class Conversation(Model):
    """One conversation of a user (Get Conversations, Conversation Rename)."""

    id: str
    name: str = ""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    status: str = "normal"
    introduction: str | None = None
    created_at: int | None = None
    updated_at: int | None = None


class HistoryMessageFile(Model):
    """A file attached to a history message (by the user or the assistant)."""

    id: str
    type: str | None = None
    url: str | None = None
    belongs_to: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    transfer_method: str | None = None
    upload_file_id: str | None = None


class MessageAgentThought(Model):
    """One reasoning step of an Agent app's answer."""

    id: str
    chain_id: str | None = None
    message_id: str | None = None
    position: int | None = None
    thought: str | None = None
    tool: str | None = None
    tool_labels: dict[str, Any] | None = None
    tool_input: str | None = None
    observation: str | None = None
    files: list[str] = msgspec.field(default_factory=list)
    created_at: int | None = None


class MessageFeedback(Model):
    rating: str | None = None
    """`"like"` or `"dislike"`."""
    content: str | None = None


class HistoryMessage(Model):
    """One question and its answer, from Get Conversation History Messages."""

    id: str
    conversation_id: str = ""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    query: str = ""
    answer: str = ""
    message_files: list[HistoryMessageFile] = msgspec.field(default_factory=list)
    feedback: MessageFeedback | None = None
    retriever_resources: list[RetrieverResource] = msgspec.field(default_factory=list)
    agent_thoughts: list[MessageAgentThought] = msgspec.field(default_factory=list)
    created_at: int | None = None
    parent_message_id: str | None = None
    status: str | None = None
    error: str | None = None


class Transcription(Model):
    """Speech to Text's answer."""

    text: str = ""


# --- application information -----------------------------------------------------------


class AppInfo(Model):
    """Get Application Information (`mode` and `author_name` only from newer servers)."""

    name: str = ""
    description: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    mode: str | None = None
    author_name: str | None = None


class FeatureToggle(Model):
    enabled: bool = False


class TextToSpeechSettings(Model):
    enabled: bool = False
    voice: str | None = None
    language: str | None = None
    auto_play: str | None = msgspec.field(default=None, name="autoPlay")
    """`"enabled"` or `"disabled"`."""


class FormControl(Model):
    """One input variable of the app's form. `kind` is the form item's key
    (`text-input`, `paragraph`, `select`, `number`, `file`, ...)."""

    label: str = ""
    variable: str = ""
    required: bool = False
    default: Any = None
    options: list[str] = msgspec.field(default_factory=list)
    max_length: int | None = None
    kind: str = ""


class ImageUploadSettings(Model):
    enabled: bool = False
    number_limits: int | None = None
    detail: str | None = None
    transfer_methods: list[str] = msgspec.field(default_factory=list)


class FileUploadSettings(Model):
    image: ImageUploadSettings | None = None
    enabled: bool | None = None
    allowed_file_types: list[str] = msgspec.field(default_factory=list)
    allowed_file_extensions: list[str] = msgspec.field(default_factory=list)
    allowed_file_upload_methods: list[str] = msgspec.field(default_factory=list)
    number_limits: int | None = None


class SystemParameters(Model):
    """Upload size limits in MB."""

    file_size_limit: int | None = None
    image_file_size_limit: int | None = None
    audio_file_size_limit: int | None = None
    video_file_size_limit: int | None = None
    workflow_file_upload_limit: int | None = None


class AppParameters(Model):
    """Get Application Parameters: the app's features, form and upload limits."""

    opening_statement: str | None = None
    suggested_questions: list[str] = msgspec.field(default_factory=list)
    suggested_questions_after_answer: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    speech_to_text: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    text_to_speech: TextToSpeechSettings = msgspec.field(default_factory=TextToSpeechSettings)
    retriever_resource: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    annotation_reply: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    more_like_this: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    sensitive_word_avoidance: FeatureToggle = msgspec.field(default_factory=FeatureToggle)
    user_input_form: list[dict[str, FormControl]] = msgspec.field(default_factory=list)
    file_upload: FileUploadSettings = msgspec.field(default_factory=FileUploadSettings)
    system_parameters: SystemParameters = msgspec.field(default_factory=SystemParameters)

    @property
    def form(self) -> list[FormControl]:
        """`user_input_form` flattened: one control per variable, `kind` filled in."""
        return [
            msgspec.structs.replace(control, kind=kind)
            for item in self.user_input_form
            for kind, control in item.items()
        ]


class ToolIcon(Model):
    """An emoji icon; other tools' icons are plain URLs."""

    background: str | None = None
    content: str | None = None


class AppMeta(Model):
    """Get Application Meta Information: each tool's icon, a URL or a `ToolIcon`."""

    tool_icons: dict[str, str | ToolIcon] = msgspec.field(default_factory=dict)
