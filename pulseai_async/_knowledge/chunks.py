"""`pulse.datasets.chunks`: the chunks (segments) of a document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from .._errors import PulseValidationError
from .._options import RequestOptions
from .._pagination import AsyncPager
from .._resource import Resource
from .._validation import (
    check_text,
    check_uuid,
    optional_bool,
    optional_str,
    optional_text,
    present,
)
from .common import check_limit, knowledge_pager
from .models import Segment, _SegmentList, _SegmentOne

__all__ = ["ChunkInput", "Chunks"]

ChunkInput = str | Mapping[str, Any]
"""A chunk to add: its text, or `{"content": ..., "answer": ..., "keywords": [...]}`
(`answer` for Q&A documents)."""

MAX_CHUNKS_PER_CALL = 1000


def _keywords(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PulseValidationError(f"keywords must be a list of strings, got {value!r}")
    return [check_text("keywords[]", word) for word in value]


def _chunk_body(index: int, item: object) -> dict[str, Any]:
    where = f"segments[{index}]"
    if isinstance(item, str):
        return {"content": check_text(f"{where}.content", item)}
    if not isinstance(item, Mapping):
        raise PulseValidationError(f"{where} must be a string or a mapping")
    body = dict(item)
    body["content"] = check_text(f"{where}.content", body.get("content"))
    if body.get("answer") is not None:
        body["answer"] = check_text(f"{where}.answer", body["answer"])
    if body.get("keywords") is not None:
        body["keywords"] = _keywords(body["keywords"])
    return body


class Chunks(Resource):
    """Add Chunks, Get Chunks, Update a Chunk, Delete a Chunk."""

    def _path(self, dataset_id: str, document_id: str) -> str:
        return (
            f"/datasets/{check_uuid('dataset_id', dataset_id)}/documents/"
            f"{check_uuid('document_id', document_id)}/segments"
        )

    async def add(
        self,
        dataset_id: str,
        document_id: str,
        segments: Sequence[ChunkInput],
        **options: Unpack[RequestOptions],
    ) -> list[Segment]:
        """Add chunks to an indexed document and return them as stored. The document
        must be completely indexed and enabled (404 otherwise)."""
        if isinstance(segments, str | Mapping) or not isinstance(segments, Sequence):
            raise PulseValidationError("segments must be a list of chunks")
        if not 1 <= len(segments) <= MAX_CHUNKS_PER_CALL:
            raise PulseValidationError(
                f"segments must hold 1 to {MAX_CHUNKS_PER_CALL} chunks, got {len(segments)}"
            )
        body = {"segments": [_chunk_body(i, item) for i, item in enumerate(segments)]}
        result = await self._client._call(
            "POST",
            self._path(dataset_id, document_id),
            _SegmentList,
            json=body,
            scope="knowledge",
            options=options,
        )
        return result.data

    def list(
        self,
        dataset_id: str,
        document_id: str,
        *,
        keyword: str | None = None,
        status: str | None = None,
        limit: int = 20,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Segment]:
        """Every chunk of a document in order (`async for`). Old servers answer with all
        chunks at once and no `has_more`; that is one page."""
        if status is not None:
            check_text("status", status)
        params = {
            "limit": check_limit(limit),
            "keyword": optional_str("keyword", keyword),
            "status": status,
        }
        path = self._path(dataset_id, document_id)
        return knowledge_pager(self._client, path, _SegmentList, params, options)

    async def update(
        self,
        dataset_id: str,
        document_id: str,
        segment_id: str,
        *,
        content: str | None = None,
        answer: str | None = None,
        keywords: Sequence[str] | None = None,
        enabled: bool | None = None,
        regenerate_child_chunks: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> Segment:
        """Change a chunk's text, answer or keywords, or enable/disable it (a disabled
        chunk is not retrieved)."""
        segment = present(
            {
                "content": optional_text("content", content),
                "answer": optional_text("answer", answer),
                "keywords": None if keywords is None else _keywords(keywords),
                "enabled": optional_bool("enabled", enabled),
                "regenerate_child_chunks": optional_bool(
                    "regenerate_child_chunks", regenerate_child_chunks
                ),
            }
        )
        if not segment:
            raise PulseValidationError("nothing to update: pass content, answer, keywords...")
        path = f"{self._path(dataset_id, document_id)}/{check_uuid('segment_id', segment_id)}"
        result = await self._client._call(
            "POST", path, _SegmentOne, json={"segment": segment}, scope="knowledge", options=options
        )
        return result.data

    async def delete(
        self,
        dataset_id: str,
        document_id: str,
        segment_id: str,
        **options: Unpack[RequestOptions],
    ) -> None:
        """Delete a chunk (204, or the old 200 `{"result": "success"}`)."""
        path = f"{self._path(dataset_id, document_id)}/{check_uuid('segment_id', segment_id)}"
        await self._client._call("DELETE", path, None, scope="knowledge", options=options)
