"""The emulator's knowledge bases, documents and chunks, kept in memory.

Indexing is computed from the clock rather than run by background tasks: a document
created at `t0` with step `d` is `waiting` until `t0 + d`, then `parsing`, `cleaning`,
`splitting`, `indexing` (its segments completing one share at a time over two steps) and
`completed` at `t0 + 6d`. Nothing needs cancelling when the emulator stops, and a step
of 0 makes indexing instant.

Segmentation follows the process rule: the cleaned text is cut at the separator (each
non-empty piece is one chunk; pieces are not merged) and pieces longer than `max_tokens`
words are cut into windows of that many words, overlapping by `chunk_overlap`.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

import msgspec

from ._bm25 import TermStats
from ._multipart import ReceivedFile
from ._state import new_id

__all__ = ["KnowledgeBase", "KnowledgeState", "StoredDocument", "StoredSegment", "split_text"]

ACCOUNT_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
"""The account behind the knowledge key: `created_by`/`updated_by` are account ids
(UUIDs) on the platform, never names."""

STEPS = ("waiting", "parsing", "cleaning", "splitting", "indexing")
INDEXING_STEPS = 2  # the `indexing` step lasts this many step lengths
AUTOMATIC_RULES: dict[str, Any] = {
    "pre_processing_rules": [
        {"id": "remove_extra_spaces", "enabled": True},
        {"id": "remove_urls_emails", "enabled": False},
    ],
    "segmentation": {"separator": "\n", "max_tokens": 500, "chunk_overlap": 50},
}
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def new_batch() -> str:
    """Batch ids look like the platform's: a timestamp and six random digits."""
    return time.strftime("%Y%m%d%H%M%S") + str(random.randint(100000, 999999))


def _clean(text: str, rules: dict[str, Any]) -> str:
    enabled = {
        rule.get("id")
        for rule in rules.get("pre_processing_rules") or []
        if isinstance(rule, dict) and rule.get("enabled")
    }
    if "remove_extra_spaces" in enabled:
        text = re.sub(r"\n{3,}", "\n\n", text)
        text = re.sub(r"[\t\f\r\x20\u3000]{2,}", " ", text)
    if "remove_urls_emails" in enabled:
        text = _EMAIL.sub("", _URL.sub("", text))
    return text


def split_text(text: str, process_rule: dict[str, Any]) -> list[str]:
    """The chunks a process rule makes of `text` (see the module docstring)."""
    rules = AUTOMATIC_RULES if process_rule.get("mode") == "automatic" else process_rule["rules"]
    segmentation = rules.get("segmentation") or AUTOMATIC_RULES["segmentation"]
    separator = str(segmentation.get("separator") or "\n").replace("\\n", "\n")
    max_tokens = int(segmentation.get("max_tokens") or 500)
    overlap = min(int(segmentation.get("chunk_overlap") or 0), max_tokens - 1)
    chunks: list[str] = []
    for piece in _clean(text, rules).split(separator):
        piece = piece.strip()
        if not piece:
            continue
        words = piece.split()
        if len(words) <= max_tokens:
            chunks.append(piece)
            continue
        step = max_tokens - overlap
        for start in range(0, len(words), step):
            chunks.append(" ".join(words[start : start + max_tokens]))
            if start + max_tokens >= len(words):
                break
    return chunks


class StoredSegment(msgspec.Struct, kw_only=True):
    id: str
    document_id: str
    position: int
    content: str
    answer: str | None = None
    keywords: list[str] = msgspec.field(default_factory=list)
    enabled: bool = True
    created_at: int
    updated_at: int
    hit_count: int = 0
    stats: TermStats | None = None

    def restat(self) -> None:
        text = " ".join([self.content, self.answer or "", *self.keywords])
        self.stats = TermStats.of(text)

    def public(self, status: str = "completed") -> dict[str, Any]:
        tokens = self.stats.length if self.stats else 0
        return {
            "id": self.id,
            "position": self.position,
            "document_id": self.document_id,
            "content": self.content,
            "answer": self.answer,
            "word_count": len(self.content),
            "tokens": tokens,
            "keywords": self.keywords,
            "index_node_id": self.id,
            "index_node_hash": f"{hash(self.content) & 0xFFFFFFFF:08x}",
            "hit_count": self.hit_count,
            "enabled": self.enabled,
            "disabled_at": None if self.enabled else self.updated_at,
            "disabled_by": None,
            "status": status,
            "created_by": ACCOUNT_ID,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "indexing_at": self.created_at,
            "completed_at": self.created_at if status == "completed" else None,
            "error": None,
            "stopped_at": None,
        }


class StoredDocument(msgspec.Struct, kw_only=True):
    id: str
    dataset_id: str
    position: int
    name: str
    text: str
    process_rule: dict[str, Any]
    doc_form: str = "text_model"
    doc_language: str = "English"
    data_source_type: str = "upload_file"
    file: ReceivedFile | None = None
    created_at: int
    batch: str
    started: float
    step: float
    failure: str | None = None
    enabled: bool = True
    archived: bool = False
    segments: list[StoredSegment] = msgspec.field(default_factory=list)

    def reindex(self, text: str, step: float, batch: str) -> None:
        """New content: split it again and start the indexing clock over."""
        self.text = text
        self.step = step
        self.batch = batch
        self.started = time.time()
        stamp = int(self.started)
        pieces = split_text(text, self.process_rule)
        self.failure = None if pieces else "The document is empty: no text left to index."
        self.segments = []
        for content in pieces:
            self.add_segment(content, stamp)

    def add_segment(
        self,
        content: str,
        stamp: int,
        answer: str | None = None,
        keywords: list[str] | None = None,
    ) -> StoredSegment:
        """Append a chunk (from indexing or the Add Chunks endpoint), ready for retrieval."""
        segment = StoredSegment(
            id=new_id(),
            document_id=self.id,
            position=len(self.segments) + 1,
            content=content,
            answer=answer,
            keywords=keywords or [],
            created_at=stamp,
            updated_at=stamp,
        )
        segment.restat()
        self.segments.append(segment)
        return segment

    # --- the indexing clock -------------------------------------------------------

    def _elapsed_steps(self) -> float:
        if self.step <= 0:
            return float("inf")
        return (time.time() - self.started) / self.step

    def indexing_status(self) -> str:
        elapsed = self._elapsed_steps()
        if self.failure is not None and elapsed >= 1:
            return "error"
        if elapsed >= len(STEPS) - 1 + INDEXING_STEPS:
            return "completed"
        return STEPS[min(int(elapsed), len(STEPS) - 1)]

    @property
    def completed(self) -> bool:
        return self.indexing_status() == "completed"

    @property
    def busy(self) -> bool:
        """Being processed (the platform refuses deletes and edits then)."""
        return self.indexing_status() in ("parsing", "cleaning", "splitting", "indexing")

    def segment_counts(self) -> tuple[int, int]:
        status = self.indexing_status()
        total = len(self.segments)
        if status == "completed":
            return total, total
        if status != "indexing":
            return 0, 0
        into = (self._elapsed_steps() - (len(STEPS) - 1)) / INDEXING_STEPS
        return min(total, int(total * into)), total

    def visible_segments(self) -> list[StoredSegment]:
        return self.segments if self.indexing_status() in ("indexing", "completed") else []

    def progress(self) -> dict[str, Any]:
        status = self.indexing_status()
        completed, total = self.segment_counts()
        elapsed = self._elapsed_steps()

        def at(steps: float) -> float | None:
            return self.started + steps * self.step if elapsed >= steps else None

        return {
            "id": self.id,
            "indexing_status": status,
            "processing_started_at": at(1),
            "parsing_completed_at": None if status == "error" else at(2),
            "cleaning_completed_at": None if status == "error" else at(3),
            "splitting_completed_at": None if status == "error" else at(4),
            "completed_at": at(len(STEPS) - 1 + INDEXING_STEPS) if status == "completed" else None,
            "paused_at": None,
            "error": self.failure if status == "error" else None,
            "stopped_at": None,
            "completed_segments": completed,
            "total_segments": total,
        }

    def display_status(self) -> str:
        status = self.indexing_status()
        if status == "waiting":
            return "queuing"
        if status == "error":
            return "error"
        if status != "completed":
            return "indexing"
        if self.archived:
            return "archived"
        return "available" if self.enabled else "disabled"

    def public(self) -> dict[str, Any]:
        status = self.indexing_status()
        tokens = sum(s.stats.length for s in self.segments if s.stats)
        info: dict[str, Any] = (
            {"upload_file_id": self.id, "name": self.file.filename}
            if self.file is not None
            else {"upload_file_id": None}
        )
        return {
            "id": self.id,
            "position": self.position,
            "data_source_type": self.data_source_type,
            "data_source_info": info,
            "dataset_process_rule_id": None,
            "name": self.name,
            "created_from": "api",
            "created_by": ACCOUNT_ID,
            "created_at": self.created_at,
            "tokens": tokens if status == "completed" else 0,
            "indexing_status": status,
            "error": self.failure if status == "error" else None,
            "enabled": self.enabled,
            "disabled_at": None,
            "disabled_by": None,
            "archived": self.archived,
            "display_status": self.display_status(),
            "word_count": len(self.text),
            "hit_count": sum(s.hit_count for s in self.segments),
            "doc_form": self.doc_form,
        }


class KnowledgeBase(msgspec.Struct, kw_only=True):
    id: str
    name: str
    description: str | None
    indexing_technique: str | None
    permission: str
    created_at: int
    updated_at: int
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None
    app_count: int = 0
    documents: dict[str, StoredDocument] = msgspec.field(default_factory=dict)

    def default_retrieval(self) -> dict[str, Any]:
        high = self.indexing_technique == "high_quality"
        method = "semantic_search" if high else "keyword_search"
        return {
            "search_method": method,
            "reranking_enable": False,
            "reranking_mode": None,
            "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
            "weights": None,
            "top_k": 4,
            "score_threshold_enabled": False,
            "score_threshold": None,
            **(self.retrieval_model or {}),
        }

    def public(self) -> dict[str, Any]:
        high = self.indexing_technique == "high_quality"
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "provider": "vendor",
            "permission": self.permission,
            "data_source_type": "upload_file" if self.documents else None,
            "indexing_technique": self.indexing_technique,
            "app_count": self.app_count,
            "document_count": len(self.documents),
            "word_count": sum(len(doc.text) for doc in self.documents.values()),
            "created_by": ACCOUNT_ID,
            "created_at": self.created_at,
            "updated_by": ACCOUNT_ID,
            "updated_at": self.updated_at,
            "embedding_model": (self.embedding_model or "text-embedding-3-small") if high else None,
            "embedding_model_provider": (self.embedding_model_provider or "openai")
            if high
            else None,
            "embedding_available": True,
            "retrieval_model_dict": self.default_retrieval(),
            "tags": [],
            "doc_form": next((d.doc_form for d in self.documents.values()), None),
        }


class KnowledgeState:
    """Every knowledge base by id, and which documents each batch id covers."""

    def __init__(self) -> None:
        self.datasets: dict[str, KnowledgeBase] = {}
        self.batches: dict[str, list[str]] = {}

    def document(self, document_id: str) -> StoredDocument | None:
        """Find a document in any knowledge base (for tests that inspect what arrived)."""
        for dataset in self.datasets.values():
            if document_id in dataset.documents:
                return dataset.documents[document_id]
        return None

    def attach_app(self, dataset_id: str) -> None:
        """Pretend an app uses the knowledge base, so deleting it gives `dataset_in_use`."""
        self.datasets[dataset_id].app_count += 1
