"""The emulated Knowledge (Dataset) API: knowledge bases, documents, chunks, retrieval.

Both path spellings are served (`create_by_text` and `create-by-text`, ..., and PATCH
on a document for update-by-file), unless `emulator.knowledge_legacy` is set: then only
the underscore forms exist, `has_more` has the old "page is full" bug, and the chunk
list is not paged, as on old servers. Every documented Knowledge error code can be
provoked through the API itself, except `document_already_finished` and
`invalid_metadata` (endpoints outside this emulator); use a fault plan for those.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import msgspec
from aiohttp import web

from ._bm25 import rank
from ._knowledge_state import KnowledgeBase, StoredDocument, StoredSegment, new_batch
from ._multipart import ReceivedFile, read_upload
from ._refusal import Refusal
from ._routes import deleted, int_arg, ok, read_json
from ._state import new_id

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["setup"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

INDEXING_TECHNIQUES = ("high_quality", "economy")
PERMISSIONS = ("only_me", "all_team_members", "partial_members")
DOC_FORMS = ("text_model", "hierarchical_model", "qa_model")
SEARCH_METHODS = ("keyword_search", "semantic_search", "full_text_search", "hybrid_search")
TEXT_TYPES = frozenset({"txt", "md", "markdown", "mdx", "html", "htm", "csv", "json", "xml", "vtt"})
FILE_TYPES = TEXT_TYPES | {"pdf", "docx", "xlsx", "xls", "pptx", "epub", "eml", "msg", "properties"}
STATUS_ACTIONS = ("enable", "disable", "archive", "un_archive")
MAX_QUERY = 250
_TECHNIQUE_REQUIRED = (
    "1 validation error for KnowledgeConfig\nindexing_technique\n  Input should be "
    "'high_quality' or 'economy' [type=literal_error, input_value=None, input_type=NoneType]"
)


def _page_of(request: web.Request) -> int:
    """`page` as Dify 1.9.1 reads it: not a number is 1, and below 1 serves page 1
    (the answer still echoes the page asked for)."""
    try:
        return int(request.query.get("page") or 1)
    except ValueError:
        return 1


def _paged(request: web.Request, items: list[dict[str, Any]], legacy: bool) -> dict[str, Any]:
    page = _page_of(request)
    limit = int_arg(request, "limit", 20, 100)
    start = (max(page, 1) - 1) * limit
    data = items[start : start + limit]
    has_more = len(data) == limit if legacy else start + limit < len(items)
    return {"data": data, "has_more": has_more, "limit": limit, "total": len(items), "page": page}


def _settings_of(fields: dict[str, str]) -> dict[str, Any]:
    """A multipart form's `data` field: the document's settings as a JSON object."""
    if not fields.get("data"):
        return {}
    try:
        settings = msgspec.json.decode(fields["data"])
    except msgspec.DecodeError:
        settings = None
    if not isinstance(settings, dict):
        raise Refusal(400, "invalid_param", "data must be a JSON object.")
    return settings


def _technique_of(settings: dict[str, Any]) -> str | None:
    technique = settings.get("indexing_technique")
    if technique is not None and technique not in INDEXING_TECHNIQUES:
        raise Refusal(400, "invalid_param", "Invalid indexing technique.")
    return technique


def _check_doc_form(doc_form: Any) -> str:
    if doc_form not in DOC_FORMS:
        raise Refusal(400, "invalid_param", "Invalid doc_form.")
    return str(doc_form)


def _check_process_rule(rule: Any) -> dict[str, Any]:
    if rule is None:
        return {"mode": "automatic"}
    modes = ("automatic", "custom", "hierarchical")
    if not isinstance(rule, dict) or rule.get("mode") not in modes:
        raise Refusal(400, "invalid_param", "Process rule mode is invalid.")
    if rule["mode"] == "automatic":
        return rule
    rules = rule.get("rules")
    if not isinstance(rules, dict):
        raise Refusal(400, "invalid_param", "Process rule rules is required.")
    segmentation = rules.get("segmentation")
    if not isinstance(segmentation, dict) or not segmentation.get("separator"):
        raise Refusal(400, "invalid_param", "Process rule segmentation separator is required.")
    max_tokens = segmentation.get("max_tokens")
    if not isinstance(max_tokens, int) or not 50 <= max_tokens <= 4000:
        raise Refusal(400, "invalid_param", "Custom segment length should be between 50 and 4000.")
    return rule


def setup(app: web.Application, emulator: EmulatorView) -> None:
    def dataset_of(request: web.Request) -> KnowledgeBase:
        found = emulator.knowledge.datasets.get(request.match_info["dataset_id"])
        if found is None:
            raise Refusal(404, "not_found", "Dataset not found.")
        return found

    def document_of(request: web.Request) -> tuple[KnowledgeBase, StoredDocument]:
        dataset = dataset_of(request)
        found = dataset.documents.get(request.match_info["document_id"])
        if found is None:
            raise Refusal(404, "not_found", "Document not found.")
        return dataset, found

    def segment_of(request: web.Request) -> tuple[StoredDocument, StoredSegment]:
        """A chunk about to change (an archived document's chunks cannot)."""
        _, document = document_of(request)
        wanted = request.match_info["segment_id"]
        segment = next((s for s in document.segments if s.id == wanted), None)
        if segment is None:
            raise Refusal(404, "not_found", "Segment not found.")
        if document.archived:
            raise Refusal(403, "archived_document_immutable")
        return document, segment

    def editable(document: StoredDocument) -> None:
        if document.archived:
            raise Refusal(403, "archived_document_immutable")
        if document.busy:
            raise Refusal(400, "document_indexing")

    def settle_technique(dataset: KnowledgeBase, settings: dict[str, Any]) -> None:
        """A knowledge base's first document fixes its indexing technique."""
        technique = _technique_of(settings)
        if dataset.indexing_technique is None:
            if technique is None:
                raise Refusal(400, "invalid_param", "indexing_technique is required.")
            dataset.indexing_technique = technique

    def add_document(
        dataset: KnowledgeBase,
        name: str,
        text: str,
        settings: dict[str, Any],
        file: ReceivedFile | None,
    ) -> dict[str, Any]:
        settle_technique(dataset, settings)
        doc_form = _check_doc_form(settings.get("doc_form") or "text_model")
        rule = _check_process_rule(settings.get("process_rule"))
        batch = new_batch()
        document = StoredDocument(
            id=new_id(),
            dataset_id=dataset.id,
            position=len(dataset.documents) + 1,
            name=name,
            text="",
            process_rule=rule,
            doc_form=doc_form,
            doc_language=str(settings.get("doc_language") or "English"),
            file=file,
            created_at=int(time.time()),
            batch=batch,
            started=time.time(),
            step=emulator.indexing_delay,
        )
        document.reindex(text, emulator.indexing_delay, batch)
        dataset.documents[document.id] = document
        dataset.updated_at = document.created_at
        emulator.knowledge.batches[batch] = [document.id]
        return {"document": document.public(), "batch": batch}

    @overload
    async def upload_of(
        request: web.Request, *, file_required: Literal[True] = True
    ) -> tuple[dict[str, Any], ReceivedFile, str]: ...

    @overload
    async def upload_of(
        request: web.Request, *, file_required: bool
    ) -> tuple[dict[str, Any], ReceivedFile | None, str | None]: ...

    async def upload_of(
        request: web.Request, *, file_required: bool = True
    ) -> tuple[dict[str, Any], ReceivedFile | None, str | None]:
        fields, file = await read_upload(request, file_required=file_required)
        settings = _settings_of(fields)
        if file is None:
            return settings, None, None
        if len(file.data) > emulator.knowledge_max_file_size:
            raise Refusal(
                413,
                "file_too_large",
                f"File size exceeded. {len(file.data)} bytes is over the "
                f"{emulator.knowledge_max_file_size}-byte limit.",
            )
        if file.extension not in FILE_TYPES:
            raise Refusal(415, "unsupported_file_type", "File type not allowed.")
        if file.extension in TEXT_TYPES:
            text = file.data.decode("utf-8", "replace")
        else:  # the emulator parses no binary formats: index the file's name
            text = file.filename.rsplit(".", 1)[0] if file.data else ""
        return settings, file, text

    # --- knowledge bases --------------------------------------------------------------

    async def create_dataset(request: web.Request) -> web.Response:
        body = await read_json(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 40:
            raise Refusal(400, "invalid_param", "Name must be between 1 to 40 characters.")
        if any(ds.name == name for ds in emulator.knowledge.datasets.values()):
            raise Refusal(409, "dataset_name_duplicate")
        technique = _technique_of(body)
        permission = body.get("permission") or "only_me"
        if permission not in PERMISSIONS:
            raise Refusal(400, "invalid_param", "Invalid permission.")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 400):
            raise Refusal(400, "invalid_param", "Description cannot exceed 400 characters.")
        retrieval = body.get("retrieval_model")
        if retrieval is not None and (
            not isinstance(retrieval, dict) or retrieval.get("search_method") not in SEARCH_METHODS
        ):
            raise Refusal(400, "invalid_param", "Invalid retrieval model.")
        stamp = int(time.time())
        dataset = KnowledgeBase(
            id=new_id(),
            name=name,
            description=description,
            indexing_technique=technique,
            permission=permission,
            created_at=stamp,
            updated_at=stamp,
            retrieval_model=retrieval,
            embedding_model=body.get("embedding_model"),
            embedding_model_provider=body.get("embedding_model_provider"),
        )
        emulator.knowledge.datasets[dataset.id] = dataset
        return ok(emulator, dataset.public())

    async def list_datasets(request: web.Request) -> web.Response:
        keyword = request.query.get("keyword", "").lower()
        datasets = reversed(emulator.knowledge.datasets.values())  # newest first
        items = [ds.public() for ds in datasets if keyword in ds.name.lower()]
        return ok(emulator, _paged(request, items, emulator.knowledge_legacy))

    async def delete_dataset(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        if dataset.app_count:
            raise Refusal(409, "dataset_in_use")
        del emulator.knowledge.datasets[dataset.id]
        for document in dataset.documents.values():
            emulator.knowledge.batches.pop(document.batch, None)
        return deleted(emulator, knowledge=True)

    # --- documents --------------------------------------------------------------------

    async def create_by_text(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        body = await read_json(request)
        name, text = body.get("name"), body.get("text")
        if not isinstance(name, str) or not name.strip():
            raise Refusal(400, "invalid_param", "name is required.")
        if not isinstance(text, str):
            raise Refusal(400, "invalid_param", "text is required.")
        if body.get("indexing_technique") is None:  # Dify 1.9.1's pydantic KnowledgeConfig
            raise Refusal(400, "invalid_param", _TECHNIQUE_REQUIRED)
        return ok(emulator, add_document(dataset, name, text, body, None))

    async def create_by_file(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        settings, file, text = await upload_of(request)
        name = str(settings.get("name") or file.filename)
        return ok(emulator, add_document(dataset, name, text, settings, file))

    def update(
        dataset: KnowledgeBase,
        document: StoredDocument,
        settings: dict[str, Any],
        text: str | None,
        file: ReceivedFile | None,
    ) -> web.Response:
        editable(document)
        if settings.get("doc_form") is not None:
            document.doc_form = _check_doc_form(settings["doc_form"])
        if settings.get("process_rule") is not None:
            document.process_rule = _check_process_rule(settings["process_rule"])
        if isinstance(settings.get("name"), str) and settings["name"].strip():
            document.name = settings["name"]
        batch = new_batch()
        emulator.knowledge.batches.pop(document.batch, None)
        emulator.knowledge.batches[batch] = [document.id]
        document.batch = batch
        document.file = file or document.file
        if text is not None:
            document.reindex(text, emulator.indexing_delay, batch)
        dataset.updated_at = int(time.time())
        return ok(emulator, {"document": document.public(), "batch": batch})

    async def update_by_text(request: web.Request) -> web.Response:
        dataset, document = document_of(request)
        body = await read_json(request)
        text = body.get("text")
        if text is not None and not (isinstance(text, str) and isinstance(body.get("name"), str)):
            raise Refusal(400, "invalid_param", "Both text and name must be strings.")
        return update(dataset, document, body, text or None, None)  # "" keeps the content

    async def update_by_file(request: web.Request) -> web.Response:
        """Without a file, only the settings change (Dify 1.9.1 allows that)."""
        dataset, document = document_of(request)
        editable(document)
        settings, file, text = await upload_of(request, file_required=False)
        if file is not None:
            settings.setdefault("name", file.filename)
        return update(dataset, document, settings, text, file)

    async def delete_document(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        found = dataset.documents.get(request.match_info["document_id"])
        if found is None:
            raise Refusal(404, "not_found", "Document Not Exists.")
        if found.archived:
            raise Refusal(403, "archived_document_immutable")
        if found.busy:
            raise Refusal(400, "document_indexing", "Cannot delete document during indexing.")
        del dataset.documents[found.id]
        emulator.knowledge.batches.pop(found.batch, None)
        return deleted(emulator, knowledge=True)

    async def list_documents(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        keyword = request.query.get("keyword", "").lower()
        status = request.query.get("status")
        items = [
            doc.public()
            for doc in dataset.documents.values()
            if keyword in doc.name.lower() and (status is None or doc.display_status() == status)
        ]
        return ok(emulator, _paged(request, items, emulator.knowledge_legacy))

    async def indexing_status(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        ids = emulator.knowledge.batches.get(request.match_info["batch"], [])
        documents = [dataset.documents[i] for i in ids if i in dataset.documents]
        if not documents:
            raise Refusal(404, "not_found", "Documents not found.")
        return ok(emulator, {"data": [doc.progress() for doc in documents]})

    async def update_status(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        action = request.match_info["action"]
        if action not in STATUS_ACTIONS:
            raise Refusal(400, "invalid_action", f"Invalid action: {action}.")
        body = await read_json(request)
        ids = body.get("document_ids")
        if not isinstance(ids, list) or not ids:
            raise Refusal(400, "invalid_param", "document_ids is required.")
        documents = []
        for document_id in ids:
            found = dataset.documents.get(document_id) if isinstance(document_id, str) else None
            if found is None:
                raise Refusal(404, "not_found", "Document not found.")
            if found.busy:
                raise Refusal(400, "document_indexing")
            documents.append(found)
        for document in documents:
            if action == "un_archive":
                if not document.archived:
                    raise Refusal(400, "invalid_action", "Document is not archived.")
                document.archived = False
            elif document.archived:
                raise Refusal(403, "archived_document_immutable")
            elif action == "archive":
                document.archived = True
            else:
                document.enabled = action == "enable"
        return ok(emulator, {"result": "success"})

    # --- chunks -------------------------------------------------------------------------

    def chunk_input(item: Any, doc_form: str) -> tuple[str, str | None, list[str]]:
        if not isinstance(item, dict):
            raise Refusal(400, "invalid_param", "Each segment must be an object.")
        content = item.get("content")
        if not isinstance(content, str) or not content.strip():
            raise Refusal(400, "invalid_param", "Content is empty")
        answer = item.get("answer")
        if doc_form == "qa_model" and (not isinstance(answer, str) or not answer.strip()):
            raise Refusal(400, "invalid_param", "Answer is empty")
        keywords = item.get("keywords") or []
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise Refusal(400, "invalid_param", "keywords must be a list of strings.")
        return content, answer if isinstance(answer, str) else None, keywords

    async def add_segments(request: web.Request) -> web.Response:
        _, document = document_of(request)
        if not document.completed:
            raise Refusal(404, "not_found", "Document is not completed.")
        if not document.enabled:
            raise Refusal(404, "not_found", "Document is disabled.")
        if document.archived:
            raise Refusal(403, "archived_document_immutable")
        body = await read_json(request)
        items = body.get("segments")
        if not isinstance(items, list) or not items:
            if emulator.knowledge_legacy:
                return ok(emulator, {"error": "Segments is required"}, 400)
            raise Refusal(400, "invalid_param", "Segments is required")
        parsed = [chunk_input(item, document.doc_form) for item in items]
        stamp = int(time.time())
        added = [
            document.add_segment(content, stamp, answer, keywords).public()
            for content, answer, keywords in parsed
        ]
        return ok(emulator, {"data": added, "doc_form": document.doc_form})

    async def list_segments(request: web.Request) -> web.Response:
        _, document = document_of(request)
        keyword = request.query.get("keyword", "").lower()
        statuses = request.query.getall("status", [])
        segment_status = "completed" if document.completed else "indexing"
        items = [
            segment.public(segment_status)
            for segment in document.visible_segments()
            if keyword in segment.content.lower() and (not statuses or segment_status in statuses)
        ]
        if emulator.knowledge_legacy:
            return ok(emulator, {"data": items, "doc_form": document.doc_form, "total": len(items)})
        return ok(emulator, {**_paged(request, items, False), "doc_form": document.doc_form})

    async def update_segment(request: web.Request) -> web.Response:
        document, segment = segment_of(request)
        body = await read_json(request)
        changes = body.get("segment")
        if not isinstance(changes, dict):
            raise Refusal(400, "invalid_param", "segment is required.")
        if "content" in changes:
            content = changes["content"]
            if not isinstance(content, str) or not content.strip():
                raise Refusal(400, "invalid_param", "Content is empty")
            segment.content = content
        if isinstance(changes.get("answer"), str):
            segment.answer = changes["answer"]
        if isinstance(changes.get("keywords"), list):
            segment.keywords = [str(word) for word in changes["keywords"]]
        if isinstance(changes.get("enabled"), bool):
            segment.enabled = changes["enabled"]
        segment.updated_at = int(time.time())
        segment.restat()
        return ok(emulator, {"data": segment.public(), "doc_form": document.doc_form})

    async def delete_segment(request: web.Request) -> web.Response:
        document, segment = segment_of(request)
        document.segments.remove(segment)
        return deleted(emulator, knowledge=True)

    # --- retrieval ------------------------------------------------------------------------

    async def retrieve(request: web.Request) -> web.Response:
        dataset = dataset_of(request)
        body = await read_json(request)
        query = body.get("query")
        if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY:
            raise Refusal(
                400,
                "invalid_param",
                f"Query is required and cannot exceed {MAX_QUERY} characters.",
            )
        if dataset.indexing_technique is None:
            raise Refusal(400, "dataset_not_initialized")
        model = dataset.default_retrieval()
        requested = body.get("retrieval_model")
        if requested is not None:
            if not isinstance(requested, dict):
                raise Refusal(400, "invalid_param", "retrieval_model must be an object.")
            model.update(requested)
        method = model.get("search_method")
        if method not in SEARCH_METHODS:
            raise Refusal(400, "invalid_param", "Invalid search method.")
        if dataset.indexing_technique != "high_quality" and method != "keyword_search":
            raise Refusal(400, "high_quality_dataset_only")
        top_k = model.get("top_k") or 4
        threshold = model.get("score_threshold") if model.get("score_threshold_enabled") else None
        candidates: list[tuple[StoredDocument, StoredSegment]] = [
            (document, segment)
            for document in dataset.documents.values()
            if document.completed and document.enabled and not document.archived
            for segment in document.segments
            if segment.enabled and segment.stats is not None
        ]
        stats = [segment.stats for _, segment in candidates if segment.stats is not None]
        keyword = method == "keyword_search"  # Dify 1.9.1: no score, no child chunks
        records: list[dict[str, Any]] = []
        for index, raw_score in rank(query, stats):
            score = round(raw_score, 6)  # as sent, so a threshold copied from a score holds
            if threshold is not None and not keyword and score < threshold:
                break
            document, segment = candidates[index]
            segment.hit_count += 1
            records.append(
                {
                    "segment": {
                        **segment.public(),
                        "document": {
                            "id": document.id,
                            "data_source_type": document.data_source_type,
                            "name": document.name,
                            "doc_type": None,
                            "doc_metadata": None,
                        },
                    },
                    "child_chunks": None if keyword else [],
                    "score": None if keyword else score,
                    "tsne_position": None,
                    **({} if keyword else {"files": []}),
                }
            )
            if len(records) >= int(top_k):
                break
        return ok(emulator, {"query": {"content": query}, "records": records})

    # --- routing --------------------------------------------------------------------------

    def modern_only(handler: Handler) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            if emulator.knowledge_legacy:
                raise Refusal(404, "not_found", "The requested URL was not found.")
            return await handler(request)

        return run

    def spellings(method: str, path: str, handler: Handler) -> list[tuple[str, str, Handler]]:
        """The underscore path, and on new servers the same path with hyphens."""
        head, _, tail = path.rpartition("/")
        hyphens = f"{head}/{tail.replace('_', '-')}"
        return [(method, path, handler), (method, hyphens, modern_only(handler))]

    base = "/v1/datasets"
    ds = base + "/{dataset_id}"
    doc = ds + "/documents/{document_id}"
    routes: list[tuple[str, str, Handler]] = [
        ("POST", base, create_dataset),
        ("GET", base, list_datasets),
        ("DELETE", ds, delete_dataset),
        ("POST", ds + "/retrieve", retrieve),
        *spellings("POST", ds + "/document/create_by_text", create_by_text),
        *spellings("POST", ds + "/document/create_by_file", create_by_file),
        ("GET", ds + "/documents", list_documents),
        ("PATCH", ds + "/documents/status/{action}", update_status),
        ("GET", ds + "/documents/{batch}/indexing-status", indexing_status),
        ("DELETE", doc, delete_document),
        ("PATCH", doc, modern_only(update_by_file)),
        *spellings("POST", doc + "/update_by_text", update_by_text),
        *spellings("POST", doc + "/update_by_file", update_by_file),
        ("POST", doc + "/segments", add_segments),
        ("GET", doc + "/segments", list_segments),
        ("POST", doc + "/segments/{segment_id}", update_segment),
        ("DELETE", doc + "/segments/{segment_id}", delete_segment),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
