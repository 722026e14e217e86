"""What one chat answer is made of: the blocking reply (`ChatMessage`), and the usage,
citations and annotation its metadata carries, which a stream's `message_end` event
brings too. Every field the server may omit has a default; prices stay `Decimal` (they
arrive as decimal strings); timestamps stay Unix seconds as sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from .._models import Model

__all__ = ["AnnotationReply", "ChatMessage", "MessageMetadata", "RetrieverResource", "Usage"]


class Usage(Model):
    """Token counts and prices of one answer."""

    prompt_tokens: int = 0
    prompt_unit_price: Decimal | None = None
    prompt_price_unit: Decimal | None = None
    prompt_price: Decimal | None = None
    completion_tokens: int = 0
    completion_unit_price: Decimal | None = None
    completion_price_unit: Decimal | None = None
    completion_price: Decimal | None = None
    total_tokens: int = 0
    total_price: Decimal | None = None
    currency: str | None = None
    latency: float | None = None


class RetrieverResource(Model):
    """One knowledge chunk the answer cited."""

    position: int | None = None
    dataset_id: str | None = None
    dataset_name: str | None = None
    document_id: str | None = None
    document_name: str | None = None
    segment_id: str | None = None
    score: float | None = None
    content: str | None = None
    id: str | None = None
    message_id: str | None = None
    data_source_type: str | None = None
    hit_count: int | None = None
    word_count: int | None = None
    segment_position: int | None = None
    index_node_hash: str | None = None
    summary: str | None = None
    created_at: int | None = None


class AnnotationReply(Model):
    id: str | None = None
    account: dict[str, Any] | None = None


class MessageMetadata(Model):
    usage: Usage | None = None
    retriever_resources: list[RetrieverResource] = msgspec.field(default_factory=list)
    annotation_reply: AnnotationReply | None = None


class ChatMessage(Model):
    """A complete answer: the blocking response, or what a stream accumulated."""

    answer: str = ""
    conversation_id: str = ""
    message_id: str = ""
    id: str = ""
    task_id: str | None = None
    mode: str | None = None
    event: str | None = None
    metadata: MessageMetadata = msgspec.field(default_factory=MessageMetadata)
    created_at: int | None = None

    @property
    def usage(self) -> Usage | None:
        """`metadata.usage`: token counts and prices (None if the server sent none)."""
        return self.metadata.usage
