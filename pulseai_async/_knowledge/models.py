"""Typed shapes of the Knowledge (Dataset) API: knowledge bases, documents, chunks,
indexing status and retrieval records, plus the two option objects callers build
(`ProcessRule`, `RetrievalModel`).

Fields follow the union of old and new server versions; everything the server may omit
has a default. Timestamps are Unix seconds, as ints or floats depending on the version.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .._models import Model
from .._pagination import ListPage

__all__ = [
    "Dataset",
    "DocForm",
    "Document",
    "DocumentBatch",
    "IndexingProgress",
    "IndexingStatus",
    "IndexingTechnique",
    "ProcessRule",
    "RetrievalModel",
    "RetrieveRecord",
    "RetrieveResult",
    "RetrievedDocument",
    "RetrievedSegment",
    "SearchMethod",
    "Segment",
]

IndexingTechnique = Literal["high_quality", "economy"]
DocForm = Literal["text_model", "hierarchical_model", "qa_model"]
SearchMethod = Literal["keyword_search", "semantic_search", "full_text_search", "hybrid_search"]

# Indexing steps in the order the server goes through them.
INDEXING_STEPS = ("waiting", "parsing", "cleaning", "splitting", "indexing", "completed")
FINISHED_STATUSES = frozenset({"completed", "error", "stopped"})  # paused may resume


class Dataset(Model):
    """A knowledge base."""

    id: str
    name: str = ""
    description: str | None = None
    provider: str | None = None
    permission: str | None = None
    data_source_type: str | None = None
    indexing_technique: str | None = None
    app_count: int = 0
    document_count: int = 0
    word_count: int = 0
    created_by: str | None = None
    created_at: float | None = None
    updated_by: str | None = None
    updated_at: float | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None
    embedding_available: bool | None = None
    retrieval_model_dict: dict[str, Any] | None = None
    tags: list[Any] = msgspec.field(default_factory=list)
    doc_form: str | None = None


class Document(Model):
    """A document in a knowledge base; `indexing_status` is where its processing is."""

    id: str
    position: int | None = None
    data_source_type: str | None = None
    data_source_info: dict[str, Any] | None = None
    dataset_process_rule_id: str | None = None
    name: str = ""
    created_from: str | None = None
    created_by: str | None = None
    created_at: float | None = None
    tokens: int | None = None
    indexing_status: str | None = None
    error: str | None = None
    enabled: bool = True
    disabled_at: float | None = None
    disabled_by: str | None = None
    archived: bool = False
    display_status: str | None = None
    word_count: int | None = None
    hit_count: int | None = None
    doc_form: str | None = None
    doc_metadata: Any = None


class DocumentBatch(Model):
    """What creating or updating a document returns: the document and the `batch` id
    that `indexing_status` and `wait_until_indexed` take."""

    document: Document
    batch: str = ""


class IndexingStatus(Model):
    """One document's indexing progress (Get Document Embedding Status)."""

    id: str
    indexing_status: str = "waiting"
    processing_started_at: float | None = None
    parsing_completed_at: float | None = None
    cleaning_completed_at: float | None = None
    splitting_completed_at: float | None = None
    completed_at: float | None = None
    paused_at: float | None = None
    error: str | None = None
    stopped_at: float | None = None
    completed_segments: int = 0
    total_segments: int = 0

    @property
    def finished(self) -> bool:
        return self.indexing_status in FINISHED_STATUSES


class IndexingProgress(Model):
    """A snapshot of a batch's indexing, summed over its documents."""

    batch: str
    documents: list[IndexingStatus]
    completed_segments: int = 0
    total_segments: int = 0

    @property
    def status(self) -> str:
        """`error` if any document failed, `completed` when all are, else the status of
        the least advanced document."""
        statuses = [doc.indexing_status for doc in self.documents]
        if not statuses:
            return "waiting"
        if "error" in statuses:
            return "error"

        def rank(status: str) -> int:
            return INDEXING_STEPS.index(status) if status in INDEXING_STEPS else 0

        return min(statuses, key=rank)

    @property
    def finished(self) -> bool:
        return bool(self.documents) and all(doc.finished for doc in self.documents)

    @property
    def fraction(self) -> float:
        """Completed share of the segments known so far, 0.0 to 1.0 (1.0 when done)."""
        if self.finished and self.status == "completed":
            return 1.0
        return self.completed_segments / self.total_segments if self.total_segments else 0.0


class _IndexingStatusList(Model):
    data: list[IndexingStatus] = msgspec.field(default_factory=list)


class Segment(Model):
    """A chunk of a document: the unit that is indexed and retrieved."""

    id: str
    position: int | None = None
    document_id: str | None = None
    content: str = ""
    answer: str | None = None
    word_count: int | None = None
    tokens: int | None = None
    keywords: list[str] | None = None
    index_node_id: str | None = None
    index_node_hash: str | None = None
    hit_count: int | None = None
    enabled: bool = True
    disabled_at: float | None = None
    disabled_by: str | None = None
    status: str | None = None
    created_by: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    indexing_at: float | None = None
    completed_at: float | None = None
    error: str | None = None
    stopped_at: float | None = None


class _SegmentList(ListPage[Segment]):
    doc_form: str | None = None


class _SegmentOne(Model):
    data: Segment
    doc_form: str | None = None


class RetrievedDocument(Model):
    """The document a retrieved chunk belongs to."""

    id: str
    data_source_type: str | None = None
    name: str = ""
    doc_type: str | None = None
    doc_metadata: Any = None


class RetrievedSegment(Segment):
    document: RetrievedDocument | None = None


class RetrieveRecord(Model):
    """One retrieved chunk and its relevance `score` (0..1, higher is better)."""

    segment: RetrievedSegment
    score: float | None = None
    tsne_position: Any = None
    child_chunks: list[dict[str, Any]] | None = None

    @property
    def content(self) -> str:
        return self.segment.content


class _RetrieveQuery(Model):
    content: str = ""


class RetrieveResult(Model):
    """The query as the server read it and the records, best first."""

    query: _RetrieveQuery = msgspec.field(default_factory=_RetrieveQuery)
    records: list[RetrieveRecord] = msgspec.field(default_factory=list)


class ProcessRule(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How a document is cleaned and cut into chunks.

    `ProcessRule()` is the server's automatic rule; `ProcessRule.custom(...)` sets the
    separator and chunk size yourself.
    """

    mode: Literal["automatic", "custom", "hierarchical"] = "automatic"
    rules: dict[str, Any] | None = None

    @classmethod
    def custom(
        cls,
        *,
        separator: str = "\n",
        max_tokens: int = 500,
        chunk_overlap: int = 0,
        remove_extra_spaces: bool = True,
        remove_urls_emails: bool = False,
    ) -> ProcessRule:
        """Split at `separator`, then cut pieces longer than `max_tokens` tokens."""
        return cls(
            mode="custom",
            rules={
                "pre_processing_rules": [
                    {"id": "remove_extra_spaces", "enabled": remove_extra_spaces},
                    {"id": "remove_urls_emails", "enabled": remove_urls_emails},
                ],
                "segmentation": {
                    "separator": separator,
                    "max_tokens": max_tokens,
                    "chunk_overlap": chunk_overlap,
                },
            },
        )


class RetrievalModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Retrieval options, for `datasets.create(...)` and `datasets.retrieve(...)`."""

    search_method: SearchMethod = "keyword_search"
    reranking_enable: bool = False
    reranking_mode: str | None = None
    reranking_model: dict[str, Any] | None = None
    weights: dict[str, Any] | None = None
    top_k: int | None = None
    score_threshold_enabled: bool = False
    score_threshold: float | None = None
