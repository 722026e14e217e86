"""What the Knowledge resources share: input checks for their enums, limits, process
rules and retrieval models, and the page-number pager that guards against the old
server's `has_more` bug."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from .._errors import PulseValidationError
from .._options import RequestOptions, check_options
from .._pagination import AsyncPager, ListPage, Page
from .._validation import check_bool, check_choice, check_int, check_mapping, check_text
from .models import ProcessRule, RetrievalModel

if TYPE_CHECKING:
    from .._pipeline import Pipeline

__all__ = [
    "DOC_FORMS",
    "INDEXING_TECHNIQUES",
    "SEARCH_METHODS",
    "check_limit",
    "check_name",
    "knowledge_pager",
    "process_rule_body",
    "retrieval_model_body",
]

T = TypeVar("T")

INDEXING_TECHNIQUES = frozenset({"high_quality", "economy"})
PERMISSIONS = frozenset({"only_me", "all_team_members", "partial_members"})
DOC_FORMS = frozenset({"text_model", "hierarchical_model", "qa_model"})
SEARCH_METHODS = frozenset(
    {"keyword_search", "semantic_search", "full_text_search", "hybrid_search"}
)
PROCESS_MODES = frozenset({"automatic", "custom", "hierarchical"})
MAX_PAGE_SIZE = 100


def optional_choice(name: str, value: object, choices: Collection[str]) -> str | None:
    return None if value is None else check_choice(name, value, choices)


def check_name(name: str, value: object, *, max_length: int) -> str:
    text = check_text(name, value)
    if len(text) > max_length:
        raise PulseValidationError(
            f"{name} must be at most {max_length} characters, got {len(text)}"
        )
    return text


def check_limit(value: object) -> int:
    """A listing's page size, sent as `limit` (1 to 100)."""
    return check_int("limit", value, 1, MAX_PAGE_SIZE)


def process_rule_body(rule: ProcessRule | Mapping[str, Any] | None) -> dict[str, Any]:
    """The `process_rule` JSON: automatic when not given; custom rules are checked."""
    if rule is None:
        return {"mode": "automatic"}
    body: dict[str, Any] = (
        msgspec.to_builtins(rule)
        if isinstance(rule, ProcessRule)
        else check_mapping("process_rule", rule)
    )
    mode = check_choice("process_rule.mode", body.get("mode"), PROCESS_MODES)
    if mode == "automatic":
        return body
    rules = body.get("rules")
    if not isinstance(rules, Mapping):
        raise PulseValidationError(f"process_rule.rules is required in {mode!r} mode")
    segmentation = rules.get("segmentation")
    if not isinstance(segmentation, Mapping):
        raise PulseValidationError("process_rule.rules.segmentation is required")
    separator = segmentation.get("separator")
    if not isinstance(separator, str) or not separator:
        raise PulseValidationError(
            f"process_rule.rules.segmentation.separator must be a non-empty string, "
            f"got {separator!r}"
        )
    max_tokens = check_int(
        "process_rule.rules.segmentation.max_tokens", segmentation.get("max_tokens"), 50, 4000
    )
    overlap = segmentation.get("chunk_overlap", 0)
    check_int("process_rule.rules.segmentation.chunk_overlap", overlap, 0, max_tokens - 1)
    return body


def retrieval_model_body(
    model: RetrievalModel | Mapping[str, Any] | None,
    *,
    search_method: str | None = None,
    top_k: int | None = None,
    score_threshold: float | None = None,
) -> dict[str, Any] | None:
    """The `retrieval_model` JSON from an object or mapping plus the shortcut arguments.

    No search method is invented: `top_k=3` alone leaves the method to the server (the
    knowledge base's own). The on/off flags are always sent, because servers read them
    without a default.
    """
    if isinstance(model, RetrievalModel):
        body: dict[str, Any] = {"search_method": model.search_method}  # omit_defaults drops it
        body.update(msgspec.to_builtins(model))
    else:
        body = check_mapping("retrieval_model", model)
    if search_method is not None:
        body["search_method"] = search_method
    if top_k is not None:
        body["top_k"] = top_k
    if score_threshold is not None:
        body["score_threshold"] = score_threshold
        body["score_threshold_enabled"] = True
    if not body:
        return None
    if "search_method" in body:
        check_choice("search_method", body["search_method"], SEARCH_METHODS)
    if body.get("top_k") is not None:
        check_int("top_k", body["top_k"], 1, 100)
    threshold = body.get("score_threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise PulseValidationError(f"score_threshold must be from 0 to 1, got {threshold!r}")
    for flag in ("reranking_enable", "score_threshold_enabled"):
        if body.get(flag) is not None:
            check_bool(f"retrieval_model.{flag}", body[flag])
    body.setdefault("reranking_enable", False)
    body.setdefault("score_threshold_enabled", threshold is not None)
    return body


def knowledge_pager(
    client: Pipeline,
    path: str,
    listing: type[ListPage[T]],
    params: Mapping[str, Any],
    options: RequestOptions,
) -> AsyncPager[T]:
    """A pager over a `page`/`limit` listing (`params` holds `limit` and the filters).

    Old servers computed `has_more` as "this page is full", which is true on an exactly
    full last page, and some listings have no paging at all; so paging also stops on an
    empty page, on `page * limit >= total`, or when `has_more` is absent.
    """
    check_options(options, f"GET {path}")  # now, not when the first page is fetched

    async def fetch(cursor: Any) -> Page[T]:
        page_number = cursor or 1
        meta = await client._call(
            "GET",
            path,
            listing,
            params={**params, "page": page_number},
            scope="knowledge",
            options=options,
        )
        limit = meta.limit or params["limit"]
        more = bool(meta.has_more) and bool(meta.data)
        if meta.total is not None and page_number * limit >= meta.total:
            more = False
        return Page(meta.data, page_number + 1 if more else None, raw=meta)

    return AsyncPager(fetch, 1)
