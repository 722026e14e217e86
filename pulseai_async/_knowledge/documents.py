"""`pulse.datasets.documents`: documents in a knowledge base, and their indexing.

Create and update use the underscore paths (`document/create_by_text`,
`documents/{id}/update_by_file`, ...): old servers serve only those, newer ones keep
them as aliases of the hyphenated forms, so they work on every version.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any, Unpack

import msgspec

from .._errors import InvalidParamError, PulseValidationError
from .._options import RequestOptions
from .._pagination import AsyncPager, ListPage
from .._resource import Resource
from .._uploads import FileInput
from .._validation import (
    check_choice,
    check_text,
    check_uuid,
    optional_str,
    optional_text,
    optional_uuid,
    present,
)
from .common import (
    DOC_FORMS,
    INDEXING_TECHNIQUES,
    check_limit,
    knowledge_pager,
    optional_choice,
    process_rule_body,
    retrieval_model_body,
)
from .indexing import ProgressCallback, wait_for, watch_indexing
from .models import (
    DocForm,
    Document,
    DocumentBatch,
    IndexingProgress,
    IndexingStatus,
    IndexingTechnique,
    ProcessRule,
    RetrievalModel,
    _IndexingStatusList,
)

__all__ = ["Documents"]

DOCUMENT_STATUSES = frozenset(
    {"queuing", "indexing", "paused", "error", "available", "disabled", "archived"}
)
STATUS_ACTIONS = frozenset({"enable", "disable", "archive", "un_archive"})


def _settings(
    *,
    doc_form: str | None,
    doc_language: str | None,
    process_rule: ProcessRule | Mapping[str, Any] | None,
    retrieval_model: RetrievalModel | Mapping[str, Any] | None,
    indexing_technique: str | None = None,
    original_document_id: str | None = None,
    creating: bool = False,
) -> dict[str, Any]:
    """The settings create and update share, checked; only those given are sent, except
    that a new document gets the automatic `process_rule` (the server requires one)."""
    return present(
        {
            "indexing_technique": optional_choice(
                "indexing_technique", indexing_technique, INDEXING_TECHNIQUES
            ),
            "doc_form": optional_choice("doc_form", doc_form, DOC_FORMS),
            "doc_language": optional_text("doc_language", doc_language),
            "process_rule": (
                process_rule_body(process_rule) if process_rule is not None or creating else None
            ),
            "retrieval_model": retrieval_model_body(retrieval_model),
            "original_document_id": optional_uuid("original_document_id", original_document_id),
        }
    )


def _check_batch(batch: object) -> str:
    """A batch id goes into the path, so it must stay one path segment."""
    text = check_text("batch", batch)
    if any(char in text for char in "/?#%") or text in (".", ".."):
        raise PulseValidationError(
            f"batch must be the batch id a create or update returned, got {text!r}"
        )
    return text


@contextlib.contextmanager
def _explain_refusal(applies: bool, says: str, hint: str) -> Iterator[None]:
    """Say what to do when a server refuses what PulseAI's documentation allows (the
    error keeps its class, status, code and body; only its message gains the hint)."""
    try:
        yield
    except InvalidParamError as exc:
        if applies and says in exc.message:
            exc.message = f"{exc.message} ({hint})"
            exc.args = (exc.message,)
        raise


class Documents(Resource):
    """Create/update a document from text or a file, delete, list, indexing status."""

    def _base(self, dataset_id: str) -> str:
        return f"/datasets/{check_uuid('dataset_id', dataset_id)}"

    def _doc(self, dataset_id: str, document_id: str) -> str:
        return f"{self._base(dataset_id)}/documents/{check_uuid('document_id', document_id)}"

    async def _send(
        self,
        path: str,
        body: dict[str, Any],
        options: RequestOptions,
        file: FileInput | None = None,
        max_size: int | None = None,
    ) -> DocumentBatch:
        """POST the settings as JSON, or with a file as multipart with them in `data`."""
        if file is None:
            return await self._client._call(
                "POST", path, DocumentBatch, json=body, scope="knowledge", options=options
            )
        fields = {"data": msgspec.json.encode(body).decode()}
        return await self._upload(
            path, DocumentBatch, file, fields, max_size=max_size, scope="knowledge", options=options
        )

    async def create_from_text(
        self,
        dataset_id: str,
        name: str,
        text: str,
        *,
        indexing_technique: IndexingTechnique | None = None,
        doc_form: DocForm | None = None,
        doc_language: str | None = None,
        process_rule: ProcessRule | Mapping[str, Any] | None = None,
        retrieval_model: RetrievalModel | Mapping[str, Any] | None = None,
        original_document_id: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> DocumentBatch:
        """Add a document from text; indexing starts at once (follow it with
        `wait_until_indexed(dataset_id, result.batch)`). PulseAI documents
        `indexing_technique` as required only while the knowledge base has none;
        Dify 1.9.1 requires it on every call (pass the knowledge base's own to work
        with both). Sends to `document/create_by_text`, which every version serves."""
        body = {
            "name": check_text("name", name),
            "text": check_text("text", text),
            **_settings(
                indexing_technique=indexing_technique,
                doc_form=doc_form,
                doc_language=doc_language,
                process_rule=process_rule,
                retrieval_model=retrieval_model,
                original_document_id=original_document_id,
                creating=True,
            ),
        }
        path = f"{self._base(dataset_id)}/document/create_by_text"
        with _explain_refusal(
            indexing_technique is None,
            "indexing_technique",
            "this server wants indexing_technique on every create_from_text, as Dify 1.9.1 "
            "does: pass the knowledge base's own, 'economy' or 'high_quality'",
        ):
            return await self._send(path, body, options)

    async def create_from_file(
        self,
        dataset_id: str,
        file: FileInput,
        *,
        indexing_technique: IndexingTechnique | None = None,
        doc_form: DocForm | None = None,
        doc_language: str | None = None,
        process_rule: ProcessRule | Mapping[str, Any] | None = None,
        retrieval_model: RetrievalModel | Mapping[str, Any] | None = None,
        original_document_id: str | None = None,
        max_size: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> DocumentBatch:
        """Add a document from a file (a path, `(name, bytes)` or a file object); paths
        are streamed from disk. Settings travel as the JSON `data` form field. Sends to
        `document/create_by_file`, the path every server version serves."""
        body = _settings(
            indexing_technique=indexing_technique,
            doc_form=doc_form,
            doc_language=doc_language,
            process_rule=process_rule,
            retrieval_model=retrieval_model,
            original_document_id=original_document_id,
            creating=True,
        )
        path = f"{self._base(dataset_id)}/document/create_by_file"
        return await self._send(path, body, options, file, max_size)

    async def update_with_text(
        self,
        dataset_id: str,
        document_id: str,
        *,
        name: str | None = None,
        text: str | None = None,
        doc_form: DocForm | None = None,
        doc_language: str | None = None,
        process_rule: ProcessRule | Mapping[str, Any] | None = None,
        retrieval_model: RetrievalModel | Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> DocumentBatch:
        """Replace a document's text (which re-indexes it; the server wants `name` along
        with `text`), or rename it. A name alone is a rename per PulseAI's
        documentation; Dify 1.9.1 refuses it ("Data source or Process rule is
        required"): there, send `text` (or a `process_rule`) with the new name, which
        re-indexes the document. Sends to `update_by_text`."""
        if text is not None and name is None:
            raise PulseValidationError("name is required when text is given")
        body = _settings(
            doc_form=doc_form,
            doc_language=doc_language,
            process_rule=process_rule,
            retrieval_model=retrieval_model,
        )
        if name is not None:
            body["name"] = check_text("name", name)
        if text is not None:
            body["text"] = check_text("text", text)
        if not body:
            raise PulseValidationError("nothing to update: pass name, text or settings")
        path = f"{self._doc(dataset_id, document_id)}/update_by_text"
        with _explain_refusal(
            text is None and process_rule is None,
            "Data source or Process rule is required",
            "this server cannot rename a document alone, as Dify 1.9.1 cannot: send text= "
            "(or a process_rule) with the name, which re-indexes it",
        ):
            return await self._send(path, body, options)

    async def update_with_file(
        self,
        dataset_id: str,
        document_id: str,
        file: FileInput,
        *,
        name: str | None = None,
        doc_form: DocForm | None = None,
        doc_language: str | None = None,
        process_rule: ProcessRule | Mapping[str, Any] | None = None,
        max_size: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> DocumentBatch:
        """Replace a document's content with a file (re-indexes it). Sends a POST to
        `update_by_file`, which old and new servers serve (newest ones prefer PATCH
        on the document, and keep this form as an alias)."""
        body = _settings(
            doc_form=doc_form,
            doc_language=doc_language,
            process_rule=process_rule,
            retrieval_model=None,
        )
        if name is not None:
            body["name"] = check_text("name", name)
        path = f"{self._doc(dataset_id, document_id)}/update_by_file"
        return await self._send(path, body, options, file, max_size)

    async def delete(
        self, dataset_id: str, document_id: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Delete a document (204, or the old 200 `{"result": "success"}`). Raises
        `DocumentIndexingError` while it is being indexed and
        `ArchivedDocumentImmutableError` when it is archived."""
        path = self._doc(dataset_id, document_id)
        await self._client._call("DELETE", path, None, scope="knowledge", options=options)

    def list(
        self,
        dataset_id: str,
        *,
        keyword: str | None = None,
        status: str | None = None,
        limit: int = 20,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Document]:
        """Every document of a knowledge base, a page at a time (`async for`)."""
        params = {
            "limit": check_limit(limit),
            "keyword": optional_str("keyword", keyword),
            "status": optional_choice("status", status, DOCUMENT_STATUSES),
        }
        path = f"{self._base(dataset_id)}/documents"
        return knowledge_pager(self._client, path, ListPage[Document], params, options)

    async def update_status(
        self,
        dataset_id: str,
        action: str,
        document_ids: Sequence[str],
        **options: Unpack[RequestOptions],
    ) -> None:
        """Enable, disable, archive or un-archive documents (`action` is one of
        `enable`, `disable`, `archive`, `un_archive`)."""
        checked_action = check_choice("action", action, STATUS_ACTIONS)
        if isinstance(document_ids, str) or not document_ids:
            raise PulseValidationError("document_ids must be a non-empty list of ids")
        ids = [check_uuid(f"document_ids[{i}]", value) for i, value in enumerate(document_ids)]
        path = f"{self._base(dataset_id)}/documents/status/{checked_action}"
        await self._client._call(
            "PATCH", path, None, json={"document_ids": ids}, scope="knowledge", options=options
        )

    async def indexing_status(
        self, dataset_id: str, batch: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[IndexingStatus]:
        """Where each document of a batch is: `waiting` → `parsing` → `cleaning` →
        `splitting` → `indexing` → `completed` (or `error`, `paused`)."""
        path = f"{self._base(dataset_id)}/documents/{_check_batch(batch)}/indexing-status"
        result = await self._client._call(
            "GET", path, _IndexingStatusList, scope="knowledge", options=options
        )
        return result.data

    def watch_indexing(
        self,
        dataset_id: str,
        batch: str,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> AsyncGenerator[IndexingProgress, None]:
        """Progress snapshots of a batch, polled with exponential backoff, until it is
        finished: `async for p in ...watch_indexing(ds, batch): print(p.fraction)`.
        Raises `IndexingFailedError` on `error`, `IndexingTimeoutError` after `timeout`."""
        check_uuid("dataset_id", dataset_id)
        _check_batch(batch)

        async def fetch() -> builtins.list[IndexingStatus]:
            return await self.indexing_status(dataset_id, batch)

        return watch_indexing(
            fetch,
            batch,
            timeout=timeout,
            poll_interval=poll_interval,
            max_interval=max_interval,
        )

    async def wait_until_indexed(
        self,
        dataset_id: str,
        batch: str,
        *,
        timeout: float | None = 600.0,
        on_progress: ProgressCallback | None = None,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> IndexingProgress:
        """Wait until every document of a batch is indexed and return the final
        progress. `on_progress` (a function or coroutine function) gets each snapshot.
        Raises `IndexingFailedError` on `error` and `IndexingTimeoutError` (a
        `TimeoutError`) after `timeout` seconds."""
        return await wait_for(
            self.watch_indexing(
                dataset_id,
                batch,
                timeout=timeout,
                poll_interval=poll_interval,
                max_interval=max_interval,
            ),
            batch,
            timeout=timeout,
            on_progress=on_progress,
        )
