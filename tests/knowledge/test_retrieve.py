"""Retrieval: BM25-ranked records with 0..1 scores; top_k and score_threshold."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pulseai_async as pa
from pulseai_async.testing import Emulator
from pulseai_async.testing._bm25 import TermStats, rank

from .conftest import indexed_document

pytestmark = pytest.mark.anyio


async def test_top_record_is_the_chunk_with_the_query_terms(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    result = await pulse.datasets.retrieve(dataset.id, "Which volcano is the highest mountain?")
    assert result.query.content == "Which volcano is the highest mountain?"
    top = result.records[0]
    assert top.content.startswith("Mount Fuji is the highest mountain in Japan")
    assert top.segment.document is not None
    assert top.segment.document.id == document.id
    assert top.segment.document.name == "travel.txt"
    scores = [record.score for record in result.records]
    assert all(score is not None and 0.0 < score < 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


async def test_top_k_and_score_threshold_are_honoured(pulse: pa.AsyncPulse) -> None:
    dataset, _ = await indexed_document(pulse)
    everything = await pulse.datasets.retrieve(dataset.id, "the of and in")
    assert len(everything.records) == 4
    two = await pulse.datasets.retrieve(dataset.id, "the of and in", top_k=2)
    assert [r.segment.id for r in two.records] == [r.segment.id for r in everything.records[:2]]
    cut = everything.records[1].score
    assert cut is not None
    above = await pulse.datasets.retrieve(dataset.id, "the of and in", score_threshold=cut)
    assert len(above.records) == 2
    assert all((r.score or 0) >= cut for r in above.records)


async def test_retrieval_options_go_into_the_retrieval_model(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset, _ = await indexed_document(pulse)
    await pulse.datasets.retrieve(
        dataset.id,
        "Venice",
        retrieval_model=pa.RetrievalModel(search_method="hybrid_search", top_k=3),
        score_threshold=0.1,
    )
    assert emulator.requests[-1].json() == {
        "query": "Venice",
        "retrieval_model": {
            "search_method": "hybrid_search",
            "reranking_enable": False,
            "top_k": 3,
            "score_threshold": 0.1,
            "score_threshold_enabled": True,
        },
    }


async def test_top_k_alone_keeps_the_knowledge_base_search_method(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    # The server replaces the base's retrieval settings with what is sent; a shortcut
    # must not smuggle in a search method the caller never chose.
    dataset = await pulse.datasets.create(
        "Semantic",
        indexing_technique="high_quality",
        retrieval_model=pa.RetrievalModel(search_method="semantic_search"),
    )
    await pulse.datasets.retrieve(dataset.id, "canals", top_k=1)
    assert emulator.requests[-1].json()["retrieval_model"] == {
        "top_k": 1,
        "reranking_enable": False,
        "score_threshold_enabled": False,
    }
    await pulse.datasets.retrieve(dataset.id, "canals", score_threshold=0.2)
    assert emulator.requests[-1].json()["retrieval_model"] == {
        "score_threshold": 0.2,
        "score_threshold_enabled": True,
        "reranking_enable": False,
    }


async def test_no_match_gives_no_records(pulse: pa.AsyncPulse) -> None:
    dataset, _ = await indexed_document(pulse)
    assert (await pulse.datasets.retrieve(dataset.id, "submarine")).records == []


async def test_economy_bases_do_keyword_search_only(pulse: pa.AsyncPulse) -> None:
    dataset, _ = await indexed_document(pulse, technique="economy")
    result = await pulse.datasets.retrieve(dataset.id, "canals", search_method="keyword_search")
    assert result.records[0].content.startswith("Venice")
    with pytest.raises(pa.HighQualityDatasetOnlyError) as caught:
        await pulse.datasets.retrieve(dataset.id, "canals", search_method="semantic_search")
    assert caught.value.status == 400
    assert caught.value.code == "high_quality_dataset_only"


async def test_base_without_indexing_is_not_initialized(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("Empty")
    with pytest.raises(pa.DatasetNotInitializedError) as caught:
        await pulse.datasets.retrieve(dataset.id, "anything")
    assert caught.value.code == "dataset_not_initialized"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": " "}, "query must not be empty"),
        ({"query": "q", "top_k": 0}, "top_k must be an integer from 1 to 100"),
        ({"query": "q", "score_threshold": 1.5}, "score_threshold must be from 0 to 1"),
        ({"query": "q", "search_method": "vector"}, "search_method must be one of"),
    ],
)
async def test_bad_retrieval_input_is_refused_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse, kwargs: dict, message: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match=message):
        await pulse.datasets.retrieve(str(uuid.uuid4()), **kwargs)
    assert emulator.requests == []


async def test_unknown_dataset_is_not_found(pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.NotFoundError):
        await pulse.datasets.retrieve(str(uuid.uuid4()), "query")


words = st.sampled_from(["alpha", "beta", "gamma", "delta", "omega", "pi"])
texts = st.lists(words, min_size=1, max_size=30).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(texts, min_size=1, max_size=12), query=texts)
def test_emulator_scores_stay_within_0_and_1_best_first(chunks: list[str], query: str) -> None:
    ranked = rank(query, [TermStats.of(text) for text in chunks])
    scores = [score for _, score in ranked]
    assert all(0.0 < score < 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    query_terms = set(query.split())
    assert {index for index, _ in ranked} == {
        index for index, text in enumerate(chunks) if query_terms & set(text.split())
    }
