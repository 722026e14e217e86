"""`pulse.datasets`: knowledge bases and retrieval, with `.documents` and `.chunks`.

Every call here uses the knowledge API key (`knowledge_api_key=` or
`PULSEAI_KNOWLEDGE_API_KEY`), over the same connection pool as the app endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Unpack

from .._errors import PulseValidationError
from .._options import RequestOptions
from .._pagination import AsyncPager, ListPage
from .._resource import Resource
from .._validation import (
    check_text,
    check_unicode,
    check_uuid,
    optional_bool,
    optional_str,
    optional_text,
    present,
)
from .chunks import Chunks
from .common import (
    INDEXING_TECHNIQUES,
    PERMISSIONS,
    check_limit,
    check_name,
    knowledge_pager,
    optional_choice,
    retrieval_model_body,
)
from .documents import Documents
from .models import (
    Dataset,
    IndexingTechnique,
    RetrievalModel,
    RetrieveResult,
    SearchMethod,
)

if TYPE_CHECKING:
    from .._pipeline import Pipeline

__all__ = ["Datasets", "Permission"]

Permission = Literal["only_me", "all_team_members", "partial_members"]

MAX_NAME = 40
MAX_DESCRIPTION = 400


class Datasets(Resource):
    """Create an Empty Knowledge Base, Get Knowledge Base List, Delete a Knowledge Base,
    Retrieve Chunks from a Knowledge Base; `documents` and `chunks` hold the rest."""

    documents: Documents
    chunks: Chunks

    def __init__(self, client: Pipeline) -> None:
        super().__init__(client)
        self.documents = Documents(client)
        self.chunks = Chunks(client)

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        indexing_technique: IndexingTechnique | None = None,
        permission: Permission | None = None,
        retrieval_model: RetrievalModel | Mapping[str, Any] | None = None,
        embedding_model: str | None = None,
        embedding_model_provider: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Dataset:
        """Create an empty knowledge base. Names are 1-40 characters and unique in the
        workspace (`DatasetNameDuplicateError` otherwise). Without `indexing_technique`
        the first document sets it."""
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            raise PulseValidationError(
                f"description must be a string of at most {MAX_DESCRIPTION} characters"
            )
        if description is not None:
            check_unicode("description", description)
        body = present(
            {
                "name": check_name("name", name, max_length=MAX_NAME),
                "description": description,
                "indexing_technique": optional_choice(
                    "indexing_technique", indexing_technique, INDEXING_TECHNIQUES
                ),
                "permission": optional_choice("permission", permission, PERMISSIONS),
                "retrieval_model": retrieval_model_body(retrieval_model),
                "embedding_model": optional_text("embedding_model", embedding_model),
                "embedding_model_provider": optional_text(
                    "embedding_model_provider", embedding_model_provider
                ),
            }
        )
        return await self._client._call(
            "POST", "/datasets", Dataset, json=body, scope="knowledge", options=options
        )

    def list(
        self,
        *,
        keyword: str | None = None,
        include_all: bool | None = None,
        limit: int = 20,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Dataset]:
        """Every knowledge base, fetched a page at a time: `async for ds in ...list()`."""
        params = {
            "limit": check_limit(limit),
            "keyword": optional_str("keyword", keyword),
            "include_all": optional_bool("include_all", include_all),
        }
        return knowledge_pager(self._client, "/datasets", ListPage[Dataset], params, options)

    async def delete(self, dataset_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a knowledge base and its documents. Accepts 204 and the old 200
        `{"result": "success"}`; `DatasetInUseError` while apps still use it."""
        path = f"/datasets/{check_uuid('dataset_id', dataset_id)}"
        await self._client._call("DELETE", path, None, scope="knowledge", options=options)

    async def retrieve(
        self,
        dataset_id: str,
        query: str,
        *,
        search_method: SearchMethod | None = None,
        top_k: int | None = None,
        score_threshold: float | None = None,
        retrieval_model: RetrievalModel | Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> RetrieveResult:
        """The chunks most relevant to `query`, best first, each with a 0..1 `score`.

        `search_method`, `top_k` and `score_threshold` are shortcuts into
        `retrieval_model`; without any, the knowledge base's own settings apply.
        Semantic and hybrid search need a `high_quality` base.
        """
        path = f"/datasets/{check_uuid('dataset_id', dataset_id)}/retrieve"
        body: dict[str, Any] = {"query": check_text("query", query)}
        model = retrieval_model_body(
            retrieval_model,
            search_method=search_method,
            top_k=top_k,
            score_threshold=score_threshold,
        )
        if model is not None:
            body["retrieval_model"] = model
        return await self._client._call(
            "POST", path, RetrieveResult, json=body, scope="knowledge", options=options
        )
